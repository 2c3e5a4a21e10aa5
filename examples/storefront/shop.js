// The demo shop's own script (cart drawer, fake checkout) grows with the sdk.
export {};
