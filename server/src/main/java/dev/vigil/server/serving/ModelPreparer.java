package dev.vigil.server.serving;

import java.util.Set;

/**
 * Turns a model's bytes into the graph the server loads, before its session opens: the seam where the probe layer
 * adds tapped intermediate tensors as internal outputs. Throwing fails the model's load with the message as reason.
 */
public interface ModelPreparer {
    /** Loads every model as it is. */
    ModelPreparer NONE = (name, config, model) -> new Prepared(model, Set.of());

    /**
     * The graph to load and its internal outputs.
     *
     * @param model the model.onnx bytes
     */
    Prepared prepare(String name, ModelConfig config, byte[] model) throws Exception;

    /**
     * A graph ready to load.
     *
     * @param model           the ONNX bytes to open
     * @param internalOutputs graph outputs that are not part of the public interface
     * @param plainModel      the unedited model bytes, opened as a second session for the runs that ask for no
     *                        internal output (when {@code model} holds nodes only those outputs need); null for none
     */
    record Prepared(byte[] model, Set<String> internalOutputs, byte[] plainModel) {
        public Prepared {
            internalOutputs = Set.copyOf(internalOutputs);
        }

        /** A graph whose runs all go to one session. */
        public Prepared(byte[] model, Set<String> internalOutputs) {
            this(model, internalOutputs, null);
        }
    }
}
