package dev.vigil.probes.stats;

import java.util.Arrays;

import java.nio.FloatBuffer;

/**
 * One tapped tensor: {@code data} holds {@code prod(shape)} floats from position 0 (heap or direct buffer; the
 * statistics read it with absolute gets only, so its position and limit are left alone).
 *
 * @param data  the values, row-major
 * @param shape the dims
 */
public record TapTensor(FloatBuffer data, long[] shape) {
    public TapTensor {
        if (data == null || shape == null) {
            throw new IllegalArgumentException("tap tensor needs data and shape");
        }
        shape = shape.clone();
    }

    /** The number of elements, {@code prod(shape)}; throws IllegalArgumentException on negative or huge dims. */
    public int elements() {
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dim in shape " + Arrays.toString(shape));
            }
            n *= d;
            if (n > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("tensor of shape " + Arrays.toString(shape) + " is too large");
            }
        }
        return (int) n;
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** Dim {@code i} without copying the shape. */
    long dim(int i) {
        return shape[i];
    }

    /** The rank without copying the shape. */
    int rank() {
        return shape.length;
    }
}
