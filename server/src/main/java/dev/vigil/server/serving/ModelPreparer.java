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
     */
    record Prepared(byte[] model, Set<String> internalOutputs) {
        public Prepared {
            internalOutputs = Set.copyOf(internalOutputs);
        }
    }
}
