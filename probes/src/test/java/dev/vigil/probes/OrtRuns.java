package dev.vigil.probes;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.LinkedHashMap;
import java.util.Map;

/** Runs a model in real ONNX Runtime and copies every float output out, closing everything it opens. */
final class OrtRuns {
    /** A float output: its shape and its values in row-major order. */
    record Output(long[] shape, float[] data) {
    }

    private OrtRuns() {
    }

    /** Runs {@code modelBytes} once on the float inputs given as name → (shape, data). */
    static Map<String, Output> runFloat(byte[] modelBytes, Map<String, Output> inputs) throws OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        Map<String, OnnxTensor> tensors = new LinkedHashMap<>();
        try {
            for (Map.Entry<String, Output> e : inputs.entrySet()) {
                tensors.put(e.getKey(), OnnxTensor.createTensor(env, FloatBuffer.wrap(e.getValue().data()),
                        e.getValue().shape()));
            }
            return run(env, modelBytes, tensors);
        } finally {
            for (OnnxTensor t : tensors.values()) {
                t.close();
            }
        }
    }

    /** Runs {@code modelBytes} once on int64 inputs given as name → (shape, data). */
    static Map<String, Output> runLong(byte[] modelBytes, Map<String, long[]> data, long[] shape)
            throws OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        Map<String, OnnxTensor> tensors = new LinkedHashMap<>();
        try {
            for (Map.Entry<String, long[]> e : data.entrySet()) {
                tensors.put(e.getKey(), OnnxTensor.createTensor(env, LongBuffer.wrap(e.getValue()), shape));
            }
            return run(env, modelBytes, tensors);
        } finally {
            for (OnnxTensor t : tensors.values()) {
                t.close();
            }
        }
    }

    private static Map<String, Output> run(OrtEnvironment env, byte[] modelBytes, Map<String, OnnxTensor> inputs)
            throws OrtException {
        Map<String, Output> out = new LinkedHashMap<>();
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            opts.setIntraOpNumThreads(2);
            try (OrtSession session = env.createSession(modelBytes, opts);
                 OrtSession.Result result = session.run(inputs)) {
                for (Map.Entry<String, OnnxValue> e : result) {
                    OnnxTensor t = (OnnxTensor) e.getValue();
                    FloatBuffer fb = t.getFloatBuffer();
                    float[] data = new float[fb.remaining()];
                    fb.get(data);
                    out.put(e.getKey(), new Output(((TensorInfo) t.getInfo()).getShape(), data));
                }
            }
        }
        return out;
    }
}
