package dev.vigil.server.protocol;

import java.nio.ByteBuffer;

/**
 * One request input, decoded: numeric and BOOL data in a direct little-endian buffer ready to hand to ONNX
 * Runtime without a copy, BYTES data as strings.
 *
 * @param data    the elements, row-major (null for BYTES)
 * @param strings the elements of a BYTES input (null otherwise)
 */
public record InputTensor(String name, Datatype datatype, long[] shape, ByteBuffer data, String[] strings) {

    /** The number of elements the shape describes. */
    public long elementCount() {
        return Shapes.elementCount(shape);
    }
}
