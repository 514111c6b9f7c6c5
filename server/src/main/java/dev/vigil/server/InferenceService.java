package dev.vigil.server;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.JsonNode;

import java.lang.reflect.Array;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Runs decoded requests on served models, without HTTP: checks the inputs against the model (names, datatypes,
 * shapes, batch and sequence limits), tokenizes text, builds the ONNX Runtime tensors, runs the session and copies
 * the outputs out. Every tensor and result is closed before it returns.
 */
public final class InferenceService {
    private final OrtEnvironment env;
    private final ServingMetrics metrics;
    private final RunObserver observer;

    /**
     * @param observer sees each run while its tensors are alive ({@link RunObserver#NONE} for nothing)
     */
    public InferenceService(OrtEnvironment env, ServingMetrics metrics, RunObserver observer) {
        this.env = env;
        this.metrics = metrics;
        this.observer = observer;
    }

    /**
     * Runs one request.
     *
     * @throws ApiException 400 for a request that does not fit the model, 500 when the model run fails
     */
    public InferResponse infer(ServedModel model, InferRequest request) {
        ModelSession session = model.session();
        Map<String, OnnxTensor> feeds = new LinkedHashMap<>();
        Map<String, OnnxTensor> echoable = new HashMap<>();
        try {
            long batch;
            long tokens;
            InputTensor text = textInput(model, request);
            if (text != null) {
                TextTokenizer.TokenizedBatch tb = tokenize(model, text);
                for (Map.Entry<ServedModel.TokenField, String> e : model.tokenInputs().entrySet()) {
                    LongBuffer values = switch (e.getKey()) {
                        case IDS -> tb.ids();
                        case ATTENTION_MASK -> tb.attentionMask();
                        case TYPE_IDS -> tb.typeIds();
                    };
                    OnnxTensor t = OnnxTensor.createTensor(env, values, new long[]{tb.batch(), tb.length()});
                    feeds.put(e.getValue(), t);
                    echoable.put(e.getValue(), t);
                }
                batch = tb.batch();
                tokens = tb.tokens();
            } else {
                batch = checkTensorInputs(model, request);
                for (InputTensor in : request.inputs()) {
                    feeds.put(in.name(), tensor(in));
                }
                tokens = countTokens(model, feeds);
            }
            Map<String, Boolean> wanted = resolveOutputs(model, request, echoable.keySet());
            Set<String> fromModel = new LinkedHashSet<>();
            for (String name : wanted.keySet()) {
                if (!echoable.containsKey(name)) {
                    fromModel.add(name);
                }
            }
            if (fromModel.isEmpty()) {
                throw ApiException.badRequest("ask for at least one model output "
                        + model.session().outputNames() + "; token tensors come only alongside one");
            }
            List<OutputTensor> outputs = new ArrayList<>(wanted.size());
            Map<String, JsonNode> extras;
            RunTaps taps = observer.beforeRun(model, request, feeds);
            try {
                long t0 = System.nanoTime();
                OrtSession.Result run;
                try {
                    run = session.run(feeds, fromModel, taps.outputs(), taps.pinned());
                } catch (OrtException e) {
                    if (taps.pinned().isEmpty()) {
                        throw e;
                    }
                    taps = taps.unpinned(e);
                    t0 = System.nanoTime();
                    run = session.run(feeds, fromModel, taps.outputs(), taps.pinned());
                }
                try (OrtSession.Result result = run) {
                    metrics.observeInference(model.name(), (System.nanoTime() - t0) / 1e9);
                    extras = observer.onRun(model, request, feeds, result, taps);
                    for (Map.Entry<String, Boolean> w : wanted.entrySet()) {
                        OnnxValue value = echoable.containsKey(w.getKey()) ? echoable.get(w.getKey())
                                : result.get(w.getKey()).orElseThrow();
                        outputs.add(copyOut(w.getKey(), (OnnxTensor) value, w.getValue()));
                    }
                }
            } finally {
                taps.close();
            }
            metrics.observeBatch(model.name(), batch, tokens);
            return new InferResponse(model.name(), request.id(), List.copyOf(outputs), extras);
        } catch (OrtException e) {
            throw new ApiException(500, "model '" + model.name() + "' failed to run: " + e.getMessage());
        } finally {
            for (OnnxTensor t : feeds.values()) {
                t.close();
            }
        }
    }

    /** The request's text input when this is a text request for a model with a tokenizer, else null. */
    private static InputTensor textInput(ServedModel model, InferRequest request) {
        if (model.tokenizer() == null) {
            return null;
        }
        InputTensor first = request.inputs().get(0);
        boolean bytesIn = first.datatype() == Datatype.BYTES && model.session().input(first.name()) == null;
        if (!bytesIn) {
            return null;
        }
        if (!model.acceptsText()) {
            throw ApiException.badRequest("model '" + model.name() + "' has a tokenizer but its inputs "
                    + model.session().inputs() + " are not all token fields, so it takes no text input");
        }
        if (request.inputs().size() != 1) {
            throw ApiException.badRequest("a text request to model '" + model.name()
                    + "' has exactly one BYTES input; this one has " + request.inputs().size() + " inputs");
        }
        if (first.shape().length != 1 && !(first.shape().length == 2 && first.shape()[1] == 1)) {
            throw ApiException.badRequest("text input '" + first.name() + "' must have shape [batch] (or [batch, 1]),"
                    + " not " + Shapes.format(first.shape()));
        }
        return first;
    }

    private static TextTokenizer.TokenizedBatch tokenize(ServedModel model, InputTensor text) {
        int batch = text.strings().length;
        if (batch == 0) {
            throw ApiException.badRequest("text input '" + text.name() + "' has no strings");
        }
        if (batch > model.maxBatchSize()) {
            throw ApiException.badRequest("input '" + text.name() + "' has batch size " + batch
                    + ", more than max_batch_size " + model.maxBatchSize() + " of model '" + model.name() + "'");
        }
        return model.tokenizer().encode(text.strings(), model.maxSequenceLength(), text.name());
    }

    /** Checks tensor inputs against the model's; returns the batch size (axis 0, 1 for rank-0 inputs). */
    private static long checkTensorInputs(ServedModel model, InferRequest request) {
        ModelSession session = model.session();
        Set<String> seen = new HashSet<>();
        long batch = -1;
        for (InputTensor in : request.inputs()) {
            TensorSpec spec = session.input(in.name());
            if (spec == null) {
                throw ApiException.badRequest("model '" + model.name() + "' has no input '" + in.name()
                        + "'; its inputs are " + session.inputs()
                        + (model.acceptsText() ? " (or one BYTES input of strings)" : ""));
            }
            if (!seen.add(in.name())) {
                throw ApiException.badRequest("input '" + in.name() + "' is given twice");
            }
            if (in.datatype() != spec.datatype()) {
                throw ApiException.badRequest("input '" + in.name() + "' has datatype " + in.datatype()
                        + " but model '" + model.name() + "' expects " + spec.datatype());
            }
            long[] shape = in.shape();
            boolean fits = shape.length == spec.rank();
            for (int i = 0; fits && i < shape.length; i++) {
                fits = spec.dim(i) < 0 || spec.dim(i) == shape[i];
            }
            if (!fits) {
                throw ApiException.badRequest("input '" + in.name() + "' has shape " + Shapes.format(shape)
                        + " but model '" + model.name() + "' expects " + Shapes.format(spec.shape())
                        + " (-1: any size)");
            }
            if (shape.length > 0 && spec.dim(0) < 0) {
                if (shape[0] > model.maxBatchSize()) {
                    throw ApiException.badRequest("input '" + in.name() + "' has batch size " + shape[0]
                            + ", more than max_batch_size " + model.maxBatchSize() + " of model '" + model.name()
                            + "'");
                }
                batch = Math.max(batch, shape[0]);
            }
            if (model.tokenInputs().containsValue(in.name()) && shape.length == 2
                    && shape[1] > model.maxSequenceLength()) {
                throw ApiException.badRequest("input '" + in.name() + "' has sequence length " + shape[1]
                        + ", more than max_sequence_length " + model.maxSequenceLength());
            }
        }
        for (TensorSpec spec : session.inputs()) {
            if (!seen.contains(spec.name())) {
                throw ApiException.badRequest("model '" + model.name() + "' needs input '" + spec.name() + "' ("
                        + spec.datatype() + " " + Shapes.format(spec.shape()) + "), which the request lacks");
            }
        }
        return batch < 0 ? 1 : batch;
    }

    private OnnxTensor tensor(InputTensor in) throws OrtException {
        if (in.datatype() == Datatype.BYTES) {
            return OnnxTensor.createTensor(env, in.strings(), in.shape());
        }
        // A direct buffer: ORT uses its memory as is, no copy.
        return OnnxTensor.createTensor(env, in.data(), in.shape(), in.datatype().onnxType());
    }

    /** Unmasked tokens of a tensor request to a model with an attention-mask input (0 otherwise). */
    private static long countTokens(ServedModel model, Map<String, OnnxTensor> feeds) {
        String maskName = model.attentionMaskInput();
        OnnxTensor mask = maskName == null ? null : feeds.get(maskName);
        if (mask == null) {
            return 0;
        }
        LongBuffer m = mask.getLongBuffer();
        long n = 0;
        for (int i = 0; i < m.limit(); i++) {
            n += m.get(i) != 0 ? 1 : 0;
        }
        return n;
    }

    /** The outputs to return, in order, each with whether it goes binary. */
    private static Map<String, Boolean> resolveOutputs(ServedModel model, InferRequest request,
                                                       Set<String> echoable) {
        Map<String, Boolean> wanted = new LinkedHashMap<>();
        if (request.outputs().isEmpty()) {
            for (String name : model.session().outputNames()) {
                wanted.put(name, request.binaryOutput());
            }
            return wanted;
        }
        for (OutputRequest o : request.outputs()) {
            if (!model.session().outputNames().contains(o.name()) && !echoable.contains(o.name())) {
                throw ApiException.badRequest("model '" + model.name() + "' has no output '" + o.name()
                        + "'; its outputs are " + model.session().outputNames()
                        + (echoable.isEmpty() ? "" : " (text requests may also ask for " + echoable + ")"));
            }
            if (wanted.put(o.name(), o.binaryData() != null ? o.binaryData() : request.binaryOutput()) != null) {
                throw ApiException.badRequest("output '" + o.name() + "' is asked for twice");
            }
        }
        return wanted;
    }

    private static OutputTensor copyOut(String name, OnnxTensor tensor, boolean binary) throws OrtException {
        long[] shape = tensor.getInfo().getShape();
        Datatype type = Datatype.fromOnnx(tensor.getInfo().type);
        if (type == null) {
            throw new OrtException("output '" + name + "' has element type " + tensor.getInfo().onnxType
                    + ", which the protocol cannot carry");
        }
        if (type == Datatype.BYTES) {
            List<String> flat = new ArrayList<>();
            flatten(tensor.getValue(), flat);
            return new OutputTensor(name, type, shape, null, flat.toArray(new String[0]), binary);
        }
        ByteBuffer data = tensor.getByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        return new OutputTensor(name, type, shape, data, null, binary);
    }

    private static void flatten(Object value, List<String> out) {
        if (value instanceof String s) {
            out.add(s);
        } else if (value != null && value.getClass().isArray()) {
            for (int i = 0, n = Array.getLength(value); i < n; i++) {
                flatten(Array.get(value, i), out);
            }
        }
    }
}
