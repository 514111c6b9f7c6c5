package dev.vigil.probes.stats;

import java.util.Arrays;

/**
 * How a row-statistics site tensor ({@code mlp}, {@code residual}, {@code matmul_input}) splits into rows of its last
 * axis, and which rows are real (SPEC §3 "Masking"): leading dims multiplying to B·T are token rows, masked by the
 * attention mask; leading dims multiplying to B are one row per sequence with no mask (a tensor with no token axis).
 */
final class RowLayout implements TensorLayout {
    final int batch;
    /** Rows per sequence: T for token rows, 1 for sequence rows. */
    final int rowsPerSequence;
    /** Channels per row: the last dim. */
    final int width;
    private final byte[] mask;

    private RowLayout(int batch, int rowsPerSequence, int width, byte[] mask) {
        this.batch = batch;
        this.rowsPerSequence = rowsPerSequence;
        this.width = width;
        this.mask = mask;
    }

    /** The layout of {@code t} in {@code request}; IllegalArgumentException naming the tensor when it fits neither. */
    static RowLayout of(String name, TapTensor t, ProbedBatch request) {
        int n = t.elements();
        if (t.rank() == 0) {
            throw new IllegalArgumentException("tensor '" + name + "' is a scalar; a probe site needs a channel axis");
        }
        if (t.data().capacity() < n) {
            throw new IllegalArgumentException("tensor '" + name + "' of shape " + Arrays.toString(t.shape())
                    + " needs " + n + " floats, its buffer holds " + t.data().capacity());
        }
        int width = (int) t.dim(t.rank() - 1);
        long rows = width == 0 ? 0 : n / width;
        long tokenRows = (long) request.batch() * request.tokens();
        if (rows == tokenRows) {
            return new RowLayout(request.batch(), request.tokens(), width, request.mask());
        }
        if (rows == request.batch()) {
            return new RowLayout(request.batch(), 1, width, null);
        }
        if (n == 0) {
            return new RowLayout(0, 0, width, null);
        }
        throw new IllegalArgumentException("tensor '" + name + "' of shape " + Arrays.toString(t.shape()) + " has "
                + rows + " rows of " + width + " channels; expected batch*tokens=" + tokenRows
                + " token rows or batch=" + request.batch() + " sequence rows");
    }

    /** Whether row {@code r} of sequence {@code b} is real. */
    boolean real(int b, int r) {
        return mask == null || mask[b * rowsPerSequence + r] != 0;
    }

    /** Offset of the first element of row {@code r} of sequence {@code b}. */
    int offset(int b, int r) {
        return (b * rowsPerSequence + r) * width;
    }
}
