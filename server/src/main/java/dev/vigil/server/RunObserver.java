package dev.vigil.server;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.JsonNode;

import java.util.Map;
import java.util.Set;

/**
 * Sees each model run while its tensors are alive: the seam where the probe layer fetches and reads tapped
 * intermediate tensors (internal outputs of {@link ModelSession}) without copying them.
 */
public interface RunObserver {
    /** Observes nothing and asks for no extra outputs. */
    RunObserver NONE = new RunObserver() {
        @Override
        public Set<String> extraOutputs(ServedModel model, InferRequest request) {
            return Set.of();
        }

        @Override
        public Map<String, JsonNode> onRun(ServedModel model, InferRequest request, Map<String, OnnxTensor> feeds,
                                           OrtSession.Result result) {
            return Map.of();
        }
    };

    /** Internal outputs of {@code model}'s session to compute for this request (empty for none). */
    Set<String> extraOutputs(ServedModel model, InferRequest request);

    /**
     * Called after a successful run, before its result and input tensors are closed; must not close them.
     *
     * @param feeds  the model's input tensors by input name (token tensors for a text request)
     * @param result every requested public output plus the extra outputs
     * @return extra top-level fields of this request's response (e.g. a probe summary); empty for none
     */
    Map<String, JsonNode> onRun(ServedModel model, InferRequest request, Map<String, OnnxTensor> feeds, OrtSession.Result result);
}
