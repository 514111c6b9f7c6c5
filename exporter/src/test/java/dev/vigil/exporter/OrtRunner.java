package dev.vigil.exporter;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnx.proto.OnnxMl.ModelProto;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.Map;

/** Runs an exported model in real ONNX Runtime (CPU) and returns its single output as floats. */
final class OrtRunner {
    private OrtRunner() {
    }

    static float[] runIds(ModelProto model, long[] ids, long batch, long seqLen) throws OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession session = env.createSession(model.toByteArray(), new OrtSession.SessionOptions());
             OnnxTensor input = OnnxTensor.createTensor(env, LongBuffer.wrap(ids), new long[] {batch, seqLen});
             OrtSession.Result result = session.run(Map.of(OnnxExporter.INPUT, input))) {
            return flatten(result);
        }
    }

    static float[] runFloats(ModelProto model, String name, float[] values, long... shape) throws OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession session = env.createSession(model.toByteArray(), new OrtSession.SessionOptions());
             OnnxTensor input = OnnxTensor.createTensor(env, FloatBuffer.wrap(values), shape);
             OrtSession.Result result = session.run(Map.of(name, input))) {
            return flatten(result);
        }
    }

    private static float[] flatten(OrtSession.Result result) {
        FloatBuffer buffer = ((OnnxTensor) result.get(0)).getFloatBuffer();
        float[] out = new float[buffer.remaining()];
        buffer.get(out);
        return out;
    }
}
