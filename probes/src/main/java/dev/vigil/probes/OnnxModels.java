package dev.vigil.probes;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import com.google.protobuf.InvalidProtocolBufferException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Reads ONNX model files into protobuf {@link ModelProto}s, with clear errors for what Vigil cannot serve. */
public final class OnnxModels {
    private OnnxModels() {
    }

    /** Reads and parses {@code file}; see {@link #parse(byte[])}. */
    public static ModelProto read(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read ONNX model " + file + ": " + e.getMessage(), e);
        }
        return parse(bytes);
    }

    /**
     * Parses a serialized ONNX model.
     *
     * @throws IllegalArgumentException when the bytes are not an ONNX model with a graph, or when the model keeps
     *                                  weights in external data files (not supported: taps re-serialize the model
     *                                  to bytes, which would lose the files' location)
     */
    public static ModelProto parse(byte[] bytes) {
        ModelProto model;
        try {
            model = ModelProto.parseFrom(bytes);
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalArgumentException("not an ONNX model (protobuf parse failed): " + e.getMessage(), e);
        }
        if (!model.hasGraph() || model.getGraph().getNodeCount() == 0) {
            throw new IllegalArgumentException("not an ONNX model: no graph nodes");
        }
        for (TensorProto t : model.getGraph().getInitializerList()) {
            if (t.getDataLocation() == TensorProto.DataLocation.EXTERNAL) {
                throw new IllegalArgumentException("initializer '" + t.getName()
                        + "' is stored in an external data file; models with external data are not supported");
            }
        }
        return model;
    }
}
