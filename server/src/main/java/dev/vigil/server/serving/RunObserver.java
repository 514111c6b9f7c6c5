package dev.vigil.server.serving;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.JsonNode;

import dev.vigil.server.protocol.InferRequest;

import java.util.Map;

/**
 * Sees each model run while its tensors are alive: the seam where the probe layer asks for tapped intermediate
 * tensors (internal outputs of {@link ModelSession}), possibly written into its own reused buffers, and reads them.
 */
public interface RunObserver {
    /** Observes nothing and asks for no extra outputs. */
    RunObserver NONE = new RunObserver() {
        @Override
        public RunTaps beforeRun(ServedModel model, InferRequest request, Map<String, OnnxTensor> feeds) {
            return RunTaps.NONE;
        }

        @Override
        public Map<String, JsonNode> onRun(ServedModel model, InferRequest request, Map<String, OnnxTensor> feeds,
                                           OrtSession.Result result, RunTaps taps) {
            return Map.of();
        }
    };

    /**
     * The internal outputs of {@code model}'s session to compute for this request ({@link RunTaps#NONE} for none).
     *
     * @param feeds the model's input tensors by input name, as they will be run
     */
    RunTaps beforeRun(ServedModel model, InferRequest request, Map<String, OnnxTensor> feeds);

    /**
     * Called after a successful run, before its result and input tensors are closed; must not close them.
     *
     * @param feeds  the model's input tensors by input name (token tensors for a text request)
     * @param result every requested public output plus the internal outputs, pinned ones included
     * @param taps   what {@link #beforeRun} returned (or its {@link RunTaps#unpinned} retry)
     * @return extra top-level fields of this request's response (e.g. a probe summary); empty for none
     */
    Map<String, JsonNode> onRun(ServedModel model, InferRequest request, Map<String, OnnxTensor> feeds,
                                OrtSession.Result result, RunTaps taps);
}
