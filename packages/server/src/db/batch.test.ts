import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { batched } from './batch.js';

describe('batched', () => {
  it('runs a lone call at once, on its own', async () => {
    const groups: number[][] = [];
    const double = batched(async (inputs: number[]) => {
      groups.push(inputs);
      return inputs.map((n) => n * 2);
    });
    expect(await double(21)).toBe(42);
    expect(groups).toEqual([[21]]);
  });

  it('groups the calls made while one runs, and answers each with its own output', async () => {
    const groups: number[][] = [];
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const echo = batched(async (inputs: number[]) => {
      groups.push(inputs);
      if (groups.length === 1) await gate;
      return inputs.map((n) => `#${n}`);
    });
    const first = echo(1);
    const rest = [2, 3, 4].map((n) => echo(n));
    release();
    expect(await Promise.all([first, ...rest])).toEqual(['#1', '#2', '#3', '#4']);
    expect(groups).toEqual([[1], [2, 3, 4]]);
  });

  it('keeps each output with its input for any calls and group size', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer(), { maxLength: 200 }),
        fc.integer({ min: 1, max: 10 }),
        async (inputs, maxBatch) => {
          const sizes: number[] = [];
          const negate = batched(
            async (group: number[]) => {
              sizes.push(group.length);
              await Promise.resolve();
              return group.map((n) => -n);
            },
            { maxBatch },
          );
          const outputs = await Promise.all(inputs.map((n) => negate(n)));
          expect(outputs).toEqual(inputs.map((n) => -n));
          expect(sizes.every((size) => size <= maxBatch)).toBe(true);
        },
      ),
    );
  });

  it('rejects every call of a failed group, and goes on with the next', async () => {
    let calls = 0;
    const flaky = batched(async (inputs: string[]) => {
      calls += 1;
      await Promise.resolve();
      if (inputs.includes('bad')) throw new Error('refused');
      return inputs;
    });
    const first = flaky('ok-1');
    const failed = [flaky('bad'), flaky('ok-2')];
    await expect(first).resolves.toBe('ok-1');
    for (const call of failed) await expect(call).rejects.toThrow('refused');
    await expect(flaky('ok-3')).resolves.toBe('ok-3');
    expect(calls).toBe(3);
  });

  it('refuses a run that answers with the wrong number of outputs', async () => {
    const broken = batched(async () => [] as string[]);
    await expect(broken('x')).rejects.toThrow('0 outputs for 1 inputs');
  });
});
