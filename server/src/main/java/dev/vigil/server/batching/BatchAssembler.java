package dev.vigil.server.batching;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import dev.vigil.server.errors.ApiException;
import dev.vigil.server.probe.ProbeLayer;
import dev.vigil.server.protocol.Datatype;
import dev.vigil.server.protocol.InferRequest;
import dev.vigil.server.protocol.InferResponse;
import dev.vigil.server.protocol.InputTensor;
import dev.vigil.server.protocol.OutputTensor;
import dev.vigil.server.protocol.TensorSpec;
import dev.vigil.server.serving.InferenceService;
import dev.vigil.server.serving.PreparedRequest;
import dev.vigil.server.serving.ServedModel;

import com.fasterxml.jackson.databind.node.MissingNode;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Merges prepared requests of one model into one run and splits the run's outputs back into each request's own
 * rows. Token inputs ({@code [batch, tokens]} with an attention mask) are padded to the longest request with mask 0;
 * other inputs are stacked when they agree in every axis but the batch axis. Output axes that carry the token axis
 * (the graph's symbolic dimension name of the mask's token axis, or a dynamic axis as long as the padded sequence) are cut back
 * to each request's own length, so a response has the shape it would have alone.
 */
final class BatchAssembler {
    /** The key of requests that only run alone. */
    static final Object ALONE = null;
    private static final String TOKENS_KEY = "tokens";

    private final ServedModel model;
    private final String tokenDim;

    /**
     * @throws IllegalArgumentException when the model's inputs and outputs cannot be split by rows
     */
    BatchAssembler(ServedModel model) {
        this.model = model;
        for (TensorSpec in : model.session().inputs()) {
            if (in.rank() == 0 || in.dim(0) >= 0) {
                throw new IllegalArgumentException("input '" + in.name() + "' has no dynamic batch axis "
                        + in.datatype() + " " + java.util.Arrays.toString(in.shape()));
            }
        }
        for (TensorSpec out : model.session().outputs()) {
            if (out.rank() == 0 || out.dim(0) >= 0 || out.datatype() == Datatype.BYTES) {
                throw new IllegalArgumentException("output '" + out.name() + "' (" + out.datatype() + " "
                        + java.util.Arrays.toString(out.shape()) + ") is not a numeric tensor with a dynamic batch axis");
            }
        }
        String tokenInput = model.attentionMaskInput();
        List<String> names = tokenInput == null ? List.of() : model.session().dimensionNames(tokenInput);
        this.tokenDim = names.size() == 2 ? names.get(1) : "";
    }

    /**
     * The batching key of a request: requests with equal keys may share a run. {@link #ALONE} for a request that
     * runs alone: one that asks for its own probe summary or attention picture (they must describe this request only).
     */
    Object key(PreparedRequest request) {
        if (ProbeLayer.inspect(request.request())) {
            return ALONE;
        }
        if (paddable(request)) {
            return TOKENS_KEY;
        }
        StringBuilder key = new StringBuilder();
        for (InputTensor in : request.feeds().values()) {
            long[] shape = in.shape();
            key.append(in.name()).append(':').append(in.datatype());
            for (int i = 1; i < shape.length; i++) {
                key.append(',').append(shape[i]);
            }
            key.append(';');
        }
        return key.toString();
    }

    /** Whether requests of this key are padded to a common length when they share a run. */
    static boolean padded(Object key) {
        return TOKENS_KEY.equals(key);
    }

    /** The token length of a request whose key is padded: the token axis of its attention mask. */
    int length(PreparedRequest request) {
        return (int) request.feeds().get(model.attentionMaskInput()).shape()[1];
    }

    /** Token inputs only, INT64 {@code [batch, tokens]}, with an attention mask among them: padding is masked. */
    private boolean paddable(PreparedRequest request) {
        if (model.attentionMaskInput() == null || !request.feeds().containsKey(model.attentionMaskInput())) {
            return false;
        }
        for (InputTensor in : request.feeds().values()) {
            if (!model.tokenInputs().containsValue(in.name()) || in.datatype() != Datatype.INT64
                    || in.shape().length != 2) {
                return false;
            }
        }
        return true;
    }

    /** Runs these requests (all with the same key) as one batch; the responses in request order. */
    List<InferResponse> run(InferenceService inference, List<PreparedRequest> requests) {
        boolean padded = TOKENS_KEY.equals(key(requests.get(0)));
        int rows = 0;
        long tokens = 0;
        int length = 0;
        Set<String> fromModel = new LinkedHashSet<>();
        for (PreparedRequest r : requests) {
            rows += r.rows();
            tokens += r.tokens();
            fromModel.addAll(r.fromModel());
            if (padded) {
                length = Math.max(length, length(r));
            }
        }
        Map<String, InputTensor> feeds = new LinkedHashMap<>();
        for (String name : requests.get(0).feeds().keySet()) {
            feeds.put(name, padded ? padTokens(name, requests, rows, length) : stack(name, requests, rows));
        }
        InferRequest observed = new InferRequest(null, List.copyOf(feeds.values()), List.of(), false,
                MissingNode.getInstance());
        int totalRows = rows;
        int paddedLength = length;
        return inference.execute(model, observed, feeds, fromModel, rows, tokens,
                (values, extras) -> split(requests, values, totalRows, padded ? paddedLength : -1));
    }

    private static InputTensor padTokens(String name, List<PreparedRequest> requests, int rows, int length) {
        ByteBuffer out = ByteBuffer.allocateDirect(rows * length * Long.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        int row = 0;
        for (PreparedRequest r : requests) {
            InputTensor in = r.feeds().get(name);
            int own = (int) in.shape()[1];
            ByteBuffer src = in.data();
            for (int i = 0; i < r.rows(); i++, row++) {
                // the rest of the row stays 0: [PAD] id, mask 0, type 0 (direct buffers start zeroed)
                out.put(row * length * Long.BYTES, src, src.position() + i * own * Long.BYTES, own * Long.BYTES);
            }
        }
        return new InputTensor(name, Datatype.INT64, new long[]{rows, length}, out, null);
    }

    private static InputTensor stack(String name, List<PreparedRequest> requests, int rows) {
        InputTensor first = requests.get(0).feeds().get(name);
        long[] shape = first.shape();
        shape[0] = rows;
        if (first.datatype() == Datatype.BYTES) {
            List<String> strings = new ArrayList<>();
            for (PreparedRequest r : requests) {
                strings.addAll(List.of(r.feeds().get(name).strings()));
            }
            return new InputTensor(name, first.datatype(), shape, null, strings.toArray(new String[0]));
        }
        int bytes = 0;
        for (PreparedRequest r : requests) {
            bytes += r.feeds().get(name).data().remaining();
        }
        ByteBuffer out = ByteBuffer.allocateDirect(bytes).order(ByteOrder.LITTLE_ENDIAN);
        for (PreparedRequest r : requests) {
            out.put(r.feeds().get(name).data().duplicate());
        }
        return new InputTensor(name, first.datatype(), shape, out.flip(), null);
    }

    private List<InferResponse> split(List<PreparedRequest> requests, Map<String, OnnxTensor> values, int rows,
                                      int length) throws OrtException {
        Map<String, ByteBuffer> copied = new HashMap<>();
        List<InferResponse> responses = new ArrayList<>(requests.size());
        int offset = 0;
        for (PreparedRequest r : requests) {
            int own = length < 0 ? -1 : length(r);
            List<OutputTensor> outputs = new ArrayList<>(r.wanted().size());
            for (Map.Entry<String, Boolean> w : r.wanted().entrySet()) {
                OnnxTensor tensor = values.get(w.getKey());
                long[] shape = tensor.getInfo().getShape();
                if (shape.length == 0 || shape[0] != rows) {
                    throw new ApiException(500, "model '" + model.name() + "' output '" + w.getKey() + "' has shape "
                            + java.util.Arrays.toString(shape) + ", whose first axis is not the batch of " + rows);
                }
                ByteBuffer all = copied.get(w.getKey());
                if (all == null) {
                    all = InferenceService.copyOut(w.getKey(), tensor, false).data();
                    copied.put(w.getKey(), all);
                }
                Datatype type = Datatype.fromOnnx(tensor.getInfo().type);
                long[] outShape = shape.clone();
                outShape[0] = r.rows();
                boolean[] cut = new boolean[shape.length];
                if (own >= 0 && own < length) {
                    boolean[] axes = tokenAxes(w.getKey(), shape, length);
                    for (int k = 1; k < shape.length; k++) {
                        if (axes[k]) {
                            cut[k] = true;
                            outShape[k] = own;
                        }
                    }
                }
                ByteBuffer data = TensorSlicer.slice(all, shape, type.elementSize(), offset, outShape, cut);
                outputs.add(new OutputTensor(w.getKey(), type, outShape, data, null, w.getValue()));
            }
            responses.add(new InferResponse(model.name(), r.request().id(), List.copyOf(outputs), Map.of()));
            offset += r.rows();
        }
        return responses;
    }

    /** Which axes of a value carry the (padded) token axis. */
    private boolean[] tokenAxes(String name, long[] shape, int length) {
        boolean[] axes = new boolean[shape.length];
        if (model.tokenInputs().containsValue(name)) {
            axes[1] = true;
            return axes;
        }
        List<String> dims = model.session().dimensionNames(name);
        TensorSpec spec = null;
        for (TensorSpec s : model.session().outputs()) {
            if (s.name().equals(name)) {
                spec = s;
            }
        }
        for (int k = 1; k < shape.length; k++) {
            String dim = k < dims.size() ? dims.get(k) : "";
            // exporters often leave output axes with generated names, so a dynamic axis as long as the padded
            // sequence counts too
            axes[k] = (!tokenDim.isEmpty() && dim.equals(tokenDim))
                    || (spec != null && spec.dim(k) < 0 && shape[k] == length);
        }
        return axes;
    }
}
