package dev.vigil.server.batching;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Cuts a request's own part out of a row-major batch tensor: its rows, and on some axes only a leading range. */
final class TensorSlicer {
    private TensorSlicer() {
    }

    /**
     * The sub-tensor of {@code src} (shape {@code shape}) that starts at row {@code rowOffset} and has shape
     * {@code outShape}; on the axes marked in {@code cut} it keeps the first {@code outShape[k]} entries, on the
     * others (after the batch axis) everything. Without a cut axis the result shares {@code src}'s memory.
     */
    static ByteBuffer slice(ByteBuffer src, long[] shape, int elementSize, long rowOffset, long[] outShape,
                            boolean[] cut) {
        long[] stride = new long[shape.length];
        long s = elementSize;
        for (int k = shape.length - 1; k >= 0; k--) {
            stride[k] = s;
            s *= shape[k];
        }
        int last = -1;
        for (int k = 1; k < cut.length; k++) {
            if (cut[k]) {
                last = k;
            }
        }
        if (last < 0) {
            int from = Math.toIntExact(src.position() + rowOffset * stride[0]);
            int bytes = Math.toIntExact(outShape[0] * stride[0]);
            return src.duplicate().position(from).limit(from + bytes).slice().order(ByteOrder.LITTLE_ENDIAN);
        }
        // each block is outShape[last] entries of axis `last` with everything after it: contiguous in src
        int block = Math.toIntExact(outShape[last] * stride[last]);
        long blocks = 1;
        for (int k = 0; k < last; k++) {
            blocks *= outShape[k];
        }
        ByteBuffer out = ByteBuffer.allocate(Math.toIntExact(blocks * block)).order(ByteOrder.LITTLE_ENDIAN);
        long[] index = new long[last];
        for (long b = 0; b < blocks; b++) {
            long from = src.position() + rowOffset * stride[0];
            for (int k = 0; k < last; k++) {
                from += index[k] * stride[k];
            }
            out.put(out.position(), src, Math.toIntExact(from), block);
            out.position(out.position() + block);
            for (int k = last - 1; k >= 0; k--) {
                if (++index[k] < outShape[k]) {
                    break;
                }
                index[k] = 0;
            }
        }
        return out.flip();
    }
}
