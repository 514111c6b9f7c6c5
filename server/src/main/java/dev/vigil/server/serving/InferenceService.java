package dev.vigil.server.serving;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.JsonNode;

import dev.vigil.server.errors.ApiException;

import dev.vigil.server.protocol.Datatype;

import dev.vigil.server.protocol.InferRequest;

import dev.vigil.server.protocol.InferResponse;

import dev.vigil.server.protocol.InputTensor;

import dev.vigil.server.protocol.OutputRequest;

import dev.vigil.server.protocol.OutputTensor;

import dev.vigil.server.protocol.Shapes;

import dev.vigil.server.protocol.TensorSpec;

import java.lang.reflect.Array;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
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
 * shapes, batch and sequence limits, token ids against the vocabulary, axes that must agree) before any run,
 * tokenizes text, builds the ONNX Runtime tensors, runs the session and copies the outputs out. Every tensor and
 * result is closed before it returns.
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
        return run(model, prepare(model, request));
    }

    /**
     * Checks a request against the model (names, datatypes, shapes, batch and sequence limits), tokenizes text and
     * resolves the outputs it asks for, without running anything.
     *
     * @throws ApiException 400 for a request that does not fit the model
     */
    public PreparedRequest prepare(ServedModel model, InferRequest request) {
        Map<String, InputTensor> feeds = new LinkedHashMap<>();
        Set<String> echoable = Set.of();
        int rows;
        long tokens;
        InputTensor text = textInput(model, request);
        if (text != null) {
            TextTokenizer.TokenizedBatch tb = tokenize(model, text);
            long[] shape = {tb.batch(), tb.length()};
            for (Map.Entry<ServedModel.TokenField, String> e : model.tokenInputs().entrySet()) {
                ByteBuffer values = switch (e.getKey()) {
                    case IDS -> tb.ids();
                    case ATTENTION_MASK -> tb.attentionMask();
                    case TYPE_IDS -> tb.typeIds();
                };
                feeds.put(e.getValue(), new InputTensor(e.getValue(), Datatype.INT64, shape, values, null));
            }
            echoable = feeds.keySet();
            rows = tb.batch();
            tokens = tb.tokens();
        } else {
            rows = (int) checkTensorInputs(model, request);
            for (InputTensor in : request.inputs()) {
                feeds.put(in.name(), in);
            }
            tokens = countTokens(model, feeds);
        }
        Map<String, Boolean> wanted = resolveOutputs(model, request, echoable);
        Set<String> fromModel = new LinkedHashSet<>();
        for (String name : wanted.keySet()) {
            if (!echoable.contains(name)) {
                fromModel.add(name);
            }
        }
        if (fromModel.isEmpty()) {
            throw ApiException.badRequest("ask for at least one model output "
                    + model.session().outputNames() + "; token tensors come only alongside one");
        }
        return new PreparedRequest(request, feeds, rows, tokens, text != null, wanted, fromModel);
    }

    /**
     * Runs one prepared request alone.
     *
     * @throws ApiException 500 when the model run fails
     */
    public InferResponse run(ServedModel model, PreparedRequest prepared) {
        return execute(model, prepared.request(), prepared.feeds(), prepared.fromModel(), prepared.rows(),
                prepared.tokens(), (values, extras) -> {
                    List<OutputTensor> outputs = new ArrayList<>(prepared.wanted().size());
                    for (Map.Entry<String, Boolean> w : prepared.wanted().entrySet()) {
                        outputs.add(copyOut(w.getKey(), values.get(w.getKey()), w.getValue()));
                    }
                    return new InferResponse(model.name(), prepared.request().id(), List.copyOf(outputs), extras);
                });
    }

    /** Reads a run's tensors while they are alive. */
    @FunctionalInterface
    public interface RunReader<T> {
        /**
         * @param values the computed outputs and the input tensors, by name; closed after this returns
         * @param extras the run observer's extra response fields
         */
        T read(Map<String, OnnxTensor> values, Map<String, JsonNode> extras) throws OrtException;
    }

    /**
     * Runs the model once on these inputs, observed by the run observer as {@code observed}, and hands the
     * tensors to {@code reader}. Every tensor is closed before it returns; the input buffers are used in place.
     *
     * @param rows   the run's batch size, for {@code vigil_batch_size}
     * @param tokens the run's unmasked tokens, for {@code vigil_tokens_total}
     * @throws ApiException 500 when the model run fails
     */
    public <T> T execute(ServedModel model, InferRequest observed, Map<String, InputTensor> inputs,
                         Set<String> fromModel, long rows, long tokens, RunReader<T> reader) {
        Map<String, OnnxTensor> feeds = new LinkedHashMap<>();
        try {
            for (InputTensor in : inputs.values()) {
                feeds.put(in.name(), tensor(in));
            }
            T read;
            RunTaps taps = observer.beforeRun(model, observed, feeds);
            try {
                long t0 = System.nanoTime();
                OrtSession.Result run;
                try {
                    run = model.session().run(feeds, fromModel, taps.outputs(), taps.pinned());
                } catch (OrtException e) {
                    if (taps.pinned().isEmpty()) {
                        throw e;
                    }
                    taps = taps.unpinned(e);
                    t0 = System.nanoTime();
                    run = model.session().run(feeds, fromModel, taps.outputs(), taps.pinned());
                }
                try (OrtSession.Result result = run) {
                    metrics.observeInference(model.name(), (System.nanoTime() - t0) / 1e9);
                    Map<String, JsonNode> extras = observer.onRun(model, observed, feeds, result, taps);
                    Map<String, OnnxTensor> values = new HashMap<>(feeds);
                    for (String name : fromModel) {
                        values.put(name, (OnnxTensor) result.get(name).orElseThrow());
                    }
                    read = reader.read(values, extras);
                }
            } finally {
                taps.close();
            }
            metrics.observeBatch(model.name(), rows, tokens);
            return read;
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
                if (shape[0] == 0) {
                    throw ApiException.badRequest("input '" + in.name() + "' has batch size 0 (shape "
                            + Shapes.format(shape) + "); a request needs at least one row");
                }
                if (shape[0] > model.maxBatchSize()) {
                    throw ApiException.badRequest("input '" + in.name() + "' has batch size " + shape[0]
                            + ", more than max_batch_size " + model.maxBatchSize() + " of model '" + model.name()
                            + "'");
                }
                batch = Math.max(batch, shape[0]);
            }
        }
        for (TensorSpec spec : session.inputs()) {
            if (!seen.contains(spec.name())) {
                throw ApiException.badRequest("model '" + model.name() + "' needs input '" + spec.name() + "' ("
                        + spec.datatype() + " " + Shapes.format(spec.shape()) + "), which the request lacks");
            }
        }
        model.inputRules().check(model.name(), request.inputs(), model.maxSequenceLength());
        return batch < 0 ? 1 : batch;
    }

    private OnnxTensor tensor(InputTensor in) throws OrtException {
        if (in.datatype() == Datatype.BYTES) {
            return OnnxTensor.createTensor(env, in.strings(), in.shape());
        }
        // A direct buffer: ORT uses its memory as is, no copy.
        return OnnxTensor.createTensor(env, in.data(), in.shape(), in.datatype().onnxType());
    }

    /** Unmasked tokens of a tensor request to a model with an INT64 attention-mask input (0 otherwise). */
    private static long countTokens(ServedModel model, Map<String, InputTensor> feeds) {
        String maskName = model.attentionMaskInput();
        InputTensor mask = maskName == null ? null : feeds.get(maskName);
        if (mask == null || mask.datatype() != Datatype.INT64) {
            return 0;
        }
        ByteBuffer m = mask.data();
        long n = 0;
        for (int i = 0, cells = m.remaining() / Long.BYTES; i < cells; i++) {
            n += m.getLong(m.position() + i * Long.BYTES) != 0 ? 1 : 0;
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

    /** Copies an output tensor out of ONNX Runtime into a response output. */
    public static OutputTensor copyOut(String name, OnnxTensor tensor, boolean binary) throws OrtException {
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
