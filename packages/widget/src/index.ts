// Lands with its own issue; the package exists so the workspace has its final shape.
export {};
