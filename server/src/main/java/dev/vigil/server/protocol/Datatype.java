package dev.vigil.server.protocol;

import ai.onnxruntime.OnnxJavaType;

/**
 * A tensor element type as the KServe v2 protocol names it, with its ONNX Runtime counterpart and its size in
 * the binary tensor data extension ({@code BYTES} has no fixed size: each element is a 4-byte little-endian
 * length followed by its bytes).
 */
public enum Datatype {
    BOOL(OnnxJavaType.BOOL, 1),
    INT8(OnnxJavaType.INT8, 1),
    UINT8(OnnxJavaType.UINT8, 1),
    INT16(OnnxJavaType.INT16, 2),
    INT32(OnnxJavaType.INT32, 4),
    INT64(OnnxJavaType.INT64, 8),
    FP16(OnnxJavaType.FLOAT16, 2),
    FP32(OnnxJavaType.FLOAT, 4),
    FP64(OnnxJavaType.DOUBLE, 8),
    BYTES(OnnxJavaType.STRING, -1);

    private final OnnxJavaType onnxType;
    private final int elementSize;

    Datatype(OnnxJavaType onnxType, int elementSize) {
        this.onnxType = onnxType;
        this.elementSize = elementSize;
    }

    /** The ONNX Runtime Java type of this datatype. */
    public OnnxJavaType onnxType() {
        return onnxType;
    }

    /** Bytes per element in raw little-endian form; -1 for {@code BYTES}. */
    public int elementSize() {
        return elementSize;
    }

    /** The KServe datatype for an ONNX Runtime tensor element type, or null when the protocol has none. */
    public static Datatype fromOnnx(OnnxJavaType type) {
        for (Datatype d : values()) {
            if (d.onnxType == type) {
                return d;
            }
        }
        return null;
    }

    /** Parses a protocol datatype name (case-sensitive as the protocol writes it); null when unknown. */
    public static Datatype fromName(String name) {
        for (Datatype d : values()) {
            if (d.name().equals(name)) {
                return d;
            }
        }
        return null;
    }

    /** The protocol's names, for error messages. */
    public static String names() {
        StringBuilder sb = new StringBuilder();
        for (Datatype d : values()) {
            if (sb.length() > 0) {
                sb.append(", ");
            }
            sb.append(d.name());
        }
        return sb.toString();
    }
}
