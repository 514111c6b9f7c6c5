package dev.vigil.probes.stats;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.vigil.probes.ProbeSite;
import dev.vigil.probes.reduce.ReductionGraph;

import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reduces probed requests with the in-graph reductions ({@link ReductionGraph#standalone}) run in ONNX Runtime on the
 * CPU execution provider: the tapped tensors go in, the {@link ReducedBatch} that a model with the reductions appended
 * would output comes back.
 */
final class GraphReducer implements AutoCloseable {
    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private final OrtSession session;
    private final String maskInput;

    GraphReducer(List<ProbeSite> sites, ProbeSettings settings) {
        maskInput = settings.attentionMaskInput();
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            opts.setIntraOpNumThreads(1);
            session = env.createSession(ReductionGraph.standalone(sites, settings).toByteArray(), opts);
        } catch (OrtException e) {
            throw new IllegalStateException(e);
        }
    }

    ReducedBatch reduce(ProbedBatch batch) {
        Map<String, OnnxTensor> feeds = new LinkedHashMap<>();
        try {
            long[] mask = new long[batch.batch() * batch.tokens()];
            for (int i = 0; i < mask.length; i++) {
                mask[i] = batch.mask() == null || batch.mask()[i] != 0 ? 1 : 0;
            }
            feeds.put(maskInput, OnnxTensor.createTensor(env, LongBuffer.wrap(mask),
                    new long[] {batch.batch(), batch.tokens()}));
            for (String input : session.getInputNames()) {
                TapTensor t = batch.tensors().get(input);
                if (t != null) {
                    float[] values = new float[t.elements()];
                    t.data().get(0, values);
                    feeds.put(input, OnnxTensor.createTensor(env, FloatBuffer.wrap(values), t.shape()));
                }
            }
            try (OrtSession.Result result = session.run(feeds)) {
                return new ReducedBatch(batch.batch(), batch.tokens(), batch.mask(), read(result));
            }
        } catch (OrtException e) {
            throw new IllegalStateException(e);
        } finally {
            feeds.values().forEach(OnnxTensor::close);
        }
    }

    /** Every output of a run as a {@link ReducedTensor}. */
    static Map<String, ReducedTensor> read(OrtSession.Result result) {
        Map<String, ReducedTensor> out = new HashMap<>();
        for (Map.Entry<String, OnnxValue> e : result) {
            OnnxTensor t = (OnnxTensor) e.getValue();
            long[] shape = t.getInfo().getShape();
            int n = Math.toIntExact(t.getInfo().getNumElements());
            double[] data = new double[n];
            if (t.getInfo().type == OnnxJavaType.INT64) {
                LongBuffer b = t.getLongBuffer();
                for (int i = 0; i < n; i++) {
                    data[i] = b.get(i);
                }
            } else if (t.getInfo().type == OnnxJavaType.DOUBLE) {
                java.nio.DoubleBuffer b = t.getDoubleBuffer();
                for (int i = 0; i < n; i++) {
                    data[i] = b.get(i);
                }
            } else if (t.getInfo().type == OnnxJavaType.INT32) {
                java.nio.IntBuffer b = t.getIntBuffer();
                for (int i = 0; i < n; i++) {
                    data[i] = b.get(i);
                }
            } else {
                FloatBuffer b = t.getFloatBuffer();
                for (int i = 0; i < n; i++) {
                    data[i] = b.get(i);
                }
            }
            out.put(e.getKey(), new ReducedTensor(shape, data));
        }
        return out;
    }

    @Override
    public void close() {
        try {
            session.close();
        } catch (OrtException e) {
            throw new IllegalStateException(e);
        }
    }
}
