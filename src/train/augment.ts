/**
 * Seeded image augmentation on a batch of channels-last images held in a Float32Array (the
 * trainer assembles each batch in JS memory, so these are plain loops, no tensors). Every
 * transform keeps the shape; each draws from the trainer's seeded stream.
 */
import { InvalidArgumentError } from '../core/errors.js';
import type { Random } from '../core/random.js';

export interface AugmentationConfig {
  /** Largest shift as a fraction of height and width (e.g. 0.1); vacated pixels are 0. */
  shift?: number;
  /** Mirror left-right with probability 0.5. */
  horizontalFlip?: boolean;
  /** Largest rotation in degrees (nearest-neighbour sampling). */
  rotation?: number;
  /** Standard deviation of added Gaussian noise. */
  noise?: number;
  /** Probability of erasing one random rectangle (2-20% of the area) to 0 (Zhong et al.). */
  erasing?: number;
}

export function checkAugmentation(config: AugmentationConfig, shape: readonly number[]): void {
  if (shape.length !== 3)
    throw new InvalidArgumentError(
      `augmentation needs images [height,width,channels], got [${shape.join(',')}]`,
    );
  for (const [name, value, max] of [
    ['shift', config.shift, 0.5],
    ['rotation', config.rotation, 180],
    ['erasing', config.erasing, 1],
  ] as const)
    if (value !== undefined && !(value >= 0 && value <= max))
      throw new InvalidArgumentError(`augmentation.${name} must be in [0, ${max}], got ${value}`);
  if (config.noise !== undefined && !(config.noise >= 0))
    throw new InvalidArgumentError(`augmentation.noise must be >= 0, got ${config.noise}`);
}

/** Augments `count` images of `shape` in place in `batch`; `scratch` holds one image. */
export function augmentBatch(
  batch: Float32Array,
  count: number,
  shape: readonly number[],
  config: AugmentationConfig,
  rng: Random,
  scratch: Float32Array,
): void {
  const [h, w, c] = shape;
  const size = h * w * c;
  for (let n = 0; n < count; n++) {
    const image = batch.subarray(n * size, (n + 1) * size);
    const flip = config.horizontalFlip === true && rng.bool();
    const dy = config.shift ? Math.round(rng.uniform(-config.shift, config.shift) * h) : 0;
    const dx = config.shift ? Math.round(rng.uniform(-config.shift, config.shift) * w) : 0;
    const angle = config.rotation ? (rng.uniform(-config.rotation, config.rotation) * Math.PI) / 180 : 0;
    if (flip || dx !== 0 || dy !== 0 || angle !== 0) {
      // Inverse mapping: each output pixel reads the source pixel it came from.
      scratch.set(image);
      const cos = Math.cos(angle);
      const sin = Math.sin(angle);
      const cy = (h - 1) / 2;
      const cx = (w - 1) / 2;
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) {
          const ty = y - dy - cy;
          const tx0 = x - dx - cx;
          const tx = flip ? -tx0 : tx0;
          const sy = Math.round(cos * ty + sin * tx + cy);
          const sx = Math.round(-sin * ty + cos * tx + cx);
          const out = (y * w + x) * c;
          if (sy < 0 || sy >= h || sx < 0 || sx >= w) image.fill(0, out, out + c);
          else image.set(scratch.subarray((sy * w + sx) * c, (sy * w + sx) * c + c), out);
        }
    }
    if (config.erasing && rng.next() < config.erasing) {
      const area = rng.uniform(0.02, 0.2) * h * w;
      const ratio = Math.exp(rng.uniform(Math.log(0.3), Math.log(3.3)));
      const eh = Math.min(h, Math.max(1, Math.round(Math.sqrt(area * ratio))));
      const ew = Math.min(w, Math.max(1, Math.round(Math.sqrt(area / ratio))));
      const y0 = rng.int(0, h - eh);
      const x0 = rng.int(0, w - ew);
      for (let y = y0; y < y0 + eh; y++) image.fill(0, (y * w + x0) * c, (y * w + x0 + ew) * c);
    }
    if (config.noise) for (let i = 0; i < size; i++) image[i] += rng.normal(0, config.noise);
  }
}
