package dev.vigil.probes.stats;

import java.util.Arrays;

/**
 * One output of the reductions run inside the model's graph ({@code dev.vigil.probes.reduce}): a small vector or
 * matrix, its float32, float64, int32 or int64 values as doubles (integers exact below 2^53).
 *
 * @param shape the dims
 * @param data  the values, row-major, {@code prod(shape)} of them
 */
public record ReducedTensor(long[] shape, double[] data) {
    public ReducedTensor {
        if (shape == null || data == null) {
            throw new IllegalArgumentException("reduced tensor needs a shape and data");
        }
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dim in shape " + Arrays.toString(shape));
            }
            n *= d;
        }
        if (n != data.length) {
            throw new IllegalArgumentException("reduced tensor of shape " + Arrays.toString(shape) + " has "
                    + data.length + " values");
        }
        shape = shape.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** The values as longs (for shapes and counts). */
    long[] longs() {
        long[] out = new long[data.length];
        for (int i = 0; i < data.length; i++) {
            out[i] = (long) data[i];
        }
        return out;
    }
}
