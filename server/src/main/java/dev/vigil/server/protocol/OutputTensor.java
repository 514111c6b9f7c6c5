package dev.vigil.server.protocol;

import java.nio.ByteBuffer;

/**
 * One response output, copied out of ONNX Runtime.
 *
 * @param data    the elements, little-endian, row-major (null for BYTES)
 * @param strings the elements of a BYTES output (null otherwise)
 * @param binary  whether it is sent in the binary section rather than as JSON {@code data}
 */
public record OutputTensor(String name, Datatype datatype, long[] shape, ByteBuffer data, String[] strings,
                           boolean binary) {
}
