package dev.vigil.server.quant;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.vigil.probes.QdqExport;
import dev.vigil.server.probe.RecordedRequest;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CancellationException;

/**
 * Replays recorded runs through a float model and quantized variants of it in ONNX Runtime (CPU, one intra-op
 * thread, off the request path) and measures each variant's {@link OutputFidelity} against float on the same runs.
 * Every variant of one pass is compared with one float run per recorded request, so outputs are held for one request
 * at a time. It holds the float model's session until closed.
 */
final class SiteSweep implements AutoCloseable {
    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private final OrtSession.SessionOptions opts;
    private final OrtSession floatSession;
    private final List<String> outputs;
    private final List<RecordedRequest> requests;
    private final String maskInput;
    private long runs;
    private long sessions;

    /**
     * @param floatModel the served model as its file holds it
     * @param requests   the recorded runs to replay
     * @param maskInput  the model input that holds the attention mask (rows of token outputs)
     */
    SiteSweep(byte[] floatModel, ModelProto proto, List<RecordedRequest> requests, String maskInput)
            throws OrtException {
        this.opts = new OrtSession.SessionOptions();
        try {
            opts.setIntraOpNumThreads(1);
            this.floatSession = open(floatModel);
        } catch (OrtException | RuntimeException e) {
            opts.close();
            throw e;
        }
        this.requests = List.copyOf(requests);
        this.maskInput = maskInput;
        List<String> names = new ArrayList<>();
        for (ValueInfoProto o : proto.getGraph().getOutputList()) {
            if (o.getType().getTensorType().getElemType() == TensorProto.DataType.FLOAT_VALUE) {
                names.add(o.getName());
            }
        }
        this.outputs = List.copyOf(names);
    }

    /** The float outputs compared. */
    List<String> outputs() {
        return outputs;
    }

    /** ORT runs so far (float references included). */
    long runs() {
        return runs;
    }

    /** ORT sessions created so far. */
    long sessions() {
        return sessions;
    }

    /**
     * One pass over the recorded runs of a switchable model ({@link QdqExport#switchable}): one candidate per site
     * set, each set the sites quantized (the others float).
     *
     * @param model    a session of the switchable model ({@link #open})
     * @param switches every switch input of the model, by site tensor
     */
    List<OutputFidelity.Summary> switchable(OrtSession model, Map<String, String> switches,
                                            List<Set<String>> quantized) throws OrtException {
        try (OnnxTensor on = OnnxTensor.createTensor(env, true);
             OnnxTensor off = OnnxTensor.createTensor(env, false)) {
            List<Map<String, OnnxTensor>> extra = new ArrayList<>();
            for (Set<String> set : quantized) {
                Map<String, OnnxTensor> feeds = new LinkedHashMap<>();
                switches.forEach((site, input) -> feeds.put(input, set.contains(site) ? on : off));
                extra.add(feeds);
            }
            return pass(model, extra);
        }
    }

    /** One pass over the recorded runs of one quantized model (e.g. an export). */
    OutputFidelity.Summary model(byte[] model) throws OrtException {
        try (OrtSession s = open(model)) {
            return pass(s, List.of(Map.of())).get(0);
        }
    }

    /** A session of {@code model} with the sweep's options (one intra-op thread); the caller closes it. */
    OrtSession open(byte[] model) throws OrtException {
        sessions++;
        return env.createSession(model, opts);
    }

    private List<OutputFidelity.Summary> pass(OrtSession candidate, List<Map<String, OnnxTensor>> variants)
            throws OrtException {
        List<OutputFidelity> acc = new ArrayList<>();
        variants.forEach(v -> acc.add(new OutputFidelity()));
        Set<String> wanted = new LinkedHashSet<>(outputs);
        for (RecordedRequest r : requests) {
            if (Thread.currentThread().isInterrupted()) {
                // the server is stopping: its shutdown must not wait for a whole sweep
                throw new CancellationException("the quantization sweep was stopped");
            }
            Map<String, OnnxTensor> feeds = r.tensors(env);
            try {
                byte[] mask = mask(r);
                long[] bt = batchAndTokens(r);
                Map<String, float[]> reference = new LinkedHashMap<>();
                Map<String, long[]> shapes = new LinkedHashMap<>();
                try (OrtSession.Result f = floatSession.run(feeds, wanted)) {
                    runs++;
                    for (String o : outputs) {
                        OnnxTensor t = (OnnxTensor) f.get(o).orElseThrow();
                        reference.put(o, floats(t));
                        shapes.put(o, t.getInfo().getShape());
                    }
                }
                for (int i = 0; i < variants.size(); i++) {
                    Map<String, OnnxTensor> all = new LinkedHashMap<>(feeds);
                    all.putAll(variants.get(i));
                    try (OrtSession.Result q = candidate.run(all, wanted)) {
                        runs++;
                        for (String o : outputs) {
                            float[] values = floats((OnnxTensor) q.get(o).orElseThrow());
                            acc.get(i).add(o, reference.get(o), values, shapes.get(o), mask, bt[0], bt[1]);
                        }
                    }
                }
            } finally {
                feeds.values().forEach(OnnxTensor::close);
            }
        }
        List<OutputFidelity.Summary> out = new ArrayList<>();
        acc.forEach(a -> out.add(a.summary()));
        return out;
    }

    /** The recorded attention mask as 0/1 per position of {@code [B, T]}; null without a 2-D mask. */
    private byte[] mask(RecordedRequest r) {
        RecordedRequest.Feed f = r.feeds().get(maskInput);
        if (f == null || f.shape().length != 2) {
            return null;
        }
        int n = (int) (f.shape()[0] * f.shape()[1]);
        ByteBuffer b = ByteBuffer.wrap(f.data()).order(ByteOrder.nativeOrder());
        byte[] mask = new byte[n];
        for (int i = 0; i < n; i++) {
            long v = f.type() == OnnxJavaType.INT64 ? b.getLong(8 * i) : f.type() == OnnxJavaType.INT32
                    ? b.getInt(4 * i) : f.type() == OnnxJavaType.FLOAT ? (long) b.getFloat(4 * i) : b.get(i);
            mask[i] = (byte) (v != 0 ? 1 : 0);
        }
        return mask;
    }

    private long[] batchAndTokens(RecordedRequest r) {
        RecordedRequest.Feed f = r.feeds().get(maskInput);
        return f == null || f.shape().length != 2 ? new long[] {-1, -1} : f.shape();
    }

    private static float[] floats(OnnxTensor t) {
        FloatBuffer b = t.getFloatBuffer();
        float[] v = new float[b.remaining()];
        b.get(v);
        return v;
    }

    @Override
    public void close() throws OrtException {
        try {
            floatSession.close();
        } finally {
            opts.close();
        }
    }
}
