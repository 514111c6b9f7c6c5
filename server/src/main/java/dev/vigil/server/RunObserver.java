package dev.vigil.server;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtSession;

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
        public void onRun(ServedModel model, InferRequest request, Map<String, OnnxTensor> feeds,
                          OrtSession.Result result) {
        }
    };

    /** Internal outputs of {@code model}'s session to compute for this request (empty for none). */
    Set<String> extraOutputs(ServedModel model, InferRequest request);

    /**
     * Called after a successful run, before its result and input tensors are closed; must not close them.
     *
     * @param feeds  the model's input tensors by input name (token tensors for a text request)
     * @param result every requested public output plus the extra outputs
     */
    void onRun(ServedModel model, InferRequest request, Map<String, OnnxTensor> feeds, OrtSession.Result result);
}
