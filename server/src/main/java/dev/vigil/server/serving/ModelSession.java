package dev.vigil.server.serving;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensorLike;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;

import dev.vigil.server.protocol.Datatype;

import dev.vigil.server.protocol.TensorSpec;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One model's ONNX Runtime session and the metadata of its public inputs and outputs.
 *
 * <p>The session may have been built from an edited graph with extra outputs (tapped intermediate tensors):
 * those are named as {@code internalOutputs}, hidden from {@link #outputs()} and never returned by default, and
 * fetched with {@link #run(Map, Set, Set, Map)}'s {@code extraOutputs} or written into {@code pinned} tensors. Thread-safe: ORT sessions run concurrently.
 *
 * <p>An edited graph may also hold nodes that only its internal outputs need (in-graph probe reductions). ONNX
 * Runtime executes every node of a graph whatever outputs a run asks for, so such a model is opened a second time
 * unedited, and a run that asks for no internal output runs that plain session: it pays for the model alone, at the
 * price of the weights held twice.
 */
public final class ModelSession implements AutoCloseable {
    private final OrtSession session;
    /** The unedited model, for runs that ask for no internal output; null when {@link #session} serves them. */
    private final OrtSession plain;
    private final List<TensorSpec> inputs;
    private final List<TensorSpec> outputs;
    private final Set<String> outputNames;
    private final Set<String> internalOutputs;
    private final Map<String, List<String>> dimensionNames;
    /** Every tensor output's shape as the graph declares it, internal ones included (-1: open). */
    private final Map<String, long[]> declaredShapes;

    private ModelSession(OrtSession session, OrtSession plain, Set<String> internalOutputs) throws OrtException {
        this.session = session;
        this.plain = plain;
        this.internalOutputs = Set.copyOf(internalOutputs);
        this.inputs = specs(session.getInputInfo(), Set.of(), "input");
        this.outputs = specs(session.getOutputInfo(), internalOutputs, "output");
        Map<String, List<String>> dims = new HashMap<>();
        for (Map<String, NodeInfo> infos : List.of(session.getInputInfo(), session.getOutputInfo())) {
            for (NodeInfo node : infos.values()) {
                if (node.getInfo() instanceof TensorInfo info) {
                    String[] names = info.getDimensionNames();
                    List<String> list = new ArrayList<>();
                    for (int i = 0; names != null && i < names.length; i++) {
                        list.add(names[i] == null ? "" : names[i]);
                    }
                    dims.put(node.getName(), List.copyOf(list));
                }
            }
        }
        this.dimensionNames = Map.copyOf(dims);
        Map<String, long[]> declared = new HashMap<>();
        for (NodeInfo node : session.getOutputInfo().values()) {
            if (node.getInfo() instanceof TensorInfo info) {
                declared.put(node.getName(), info.getShape());
            }
        }
        this.declaredShapes = Map.copyOf(declared);
        Set<String> names = new LinkedHashSet<>();
        for (TensorSpec s : outputs) {
            names.add(s.name());
        }
        this.outputNames = Collections.unmodifiableSet(names);
        for (String internal : internalOutputs) {
            if (!session.getOutputNames().contains(internal)) {
                throw new IllegalArgumentException("internal output '" + internal + "' is not a graph output");
            }
        }
        if (plain != null && !(plain.getInputNames().equals(session.getInputNames())
                && plain.getOutputNames().containsAll(outputNames))) {
            throw new IllegalArgumentException("the plain model's inputs " + plain.getInputNames() + " and outputs "
                    + plain.getOutputNames() + " are not the edited model's " + session.getInputNames() + " and "
                    + outputNames);
        }
    }

    /**
     * Opens a session for a serialized ONNX model.
     *
     * @param factory         makes the session on the configured device
     * @param model           the ONNX ModelProto bytes (the original model, or one edited to add outputs)
     * @param internalOutputs graph outputs that are not part of the model's public interface (e.g. probe taps)
     * @throws OrtException             when ORT cannot load the model
     * @throws IllegalArgumentException when an input or output is not a tensor of a protocol datatype
     */
    public static ModelSession open(SessionFactory factory, byte[] model, Set<String> internalOutputs)
            throws OrtException {
        return open(factory, model, internalOutputs, null);
    }

    /**
     * Opens a session for an edited model and, when {@code plainModel} is given, a second one for the unedited model
     * that runs every request asking for no internal output.
     *
     * @param plainModel the unedited ONNX bytes (same inputs, the public outputs), or null to run everything on
     *                   {@code model}
     * @throws IllegalArgumentException as {@link #open(SessionFactory, byte[], Set)}, or when the plain model's
     *                                  inputs and outputs are not the edited one's
     */
    public static ModelSession open(SessionFactory factory, byte[] model, Set<String> internalOutputs,
                                    byte[] plainModel) throws OrtException {
        OrtSession session = factory.create(model);
        OrtSession plain = null;
        try {
            plain = plainModel == null ? null : factory.create(plainModel);
            return new ModelSession(session, plain, internalOutputs);
        } catch (RuntimeException | OrtException e) {
            session.close();
            if (plain != null) {
                plain.close();
            }
            throw e;
        }
    }

    /** Whether runs that ask for no internal output go to a session of the unedited model. */
    public boolean hasPlainSession() {
        return plain != null;
    }

    private static List<TensorSpec> specs(Map<String, NodeInfo> infos, Set<String> skip, String what) {
        List<TensorSpec> specs = new ArrayList<>();
        for (NodeInfo node : infos.values()) {
            if (skip.contains(node.getName())) {
                continue;
            }
            if (!(node.getInfo() instanceof TensorInfo info)) {
                throw new IllegalArgumentException(what + " '" + node.getName() + "' is not a tensor ("
                        + node.getInfo() + "); only tensor inputs and outputs are served");
            }
            Datatype type = Datatype.fromOnnx(info.type);
            if (type == null) {
                throw new IllegalArgumentException(what + " '" + node.getName() + "' has element type "
                        + info.onnxType + ", which the protocol cannot carry");
            }
            specs.add(new TensorSpec(node.getName(), type, info.getShape()));
        }
        return List.copyOf(specs);
    }

    /** The model's inputs in graph order. */
    public List<TensorSpec> inputs() {
        return inputs;
    }

    /** The model's public outputs in graph order (internal outputs excluded). */
    public List<TensorSpec> outputs() {
        return outputs;
    }

    /** The public output names in graph order. */
    public Set<String> outputNames() {
        return outputNames;
    }

    /** Graph outputs added for internal use (e.g. probe taps); empty for an unedited model. */
    public Set<String> internalOutputs() {
        return internalOutputs;
    }

    /**
     * The symbolic names of an input's or output's axes as the graph declares them ("" for an unnamed axis); empty
     * when unknown.
     */
    public List<String> dimensionNames(String name) {
        return dimensionNames.getOrDefault(name, List.of());
    }

    /**
     * The shape of an output (internal ones included) as the graph declares it, a negative dim for one it leaves open;
     * null when the output is unknown or not a tensor.
     */
    public long[] declaredShape(String output) {
        long[] shape = declaredShapes.get(output);
        return shape == null ? null : shape.clone();
    }

    /** The input spec with this name, or null. */
    public TensorSpec input(String name) {
        for (TensorSpec s : inputs) {
            if (s.name().equals(name)) {
                return s;
            }
        }
        return null;
    }

    /**
     * Runs the model. The caller closes the returned result (try-with-resources).
     *
     * @param feeds        one tensor per model input
     * @param outputs      public outputs to compute
     * @param extraOutputs internal outputs to compute as well, allocated by ONNX Runtime (may be empty)
     * @param pinned       internal outputs written into these tensors, whose shapes must be the ones the run
     *                     produces (may be empty); they appear in the result but are not closed with it
     */
    public OrtSession.Result run(Map<String, ? extends OnnxTensorLike> feeds, Set<String> outputs,
                                 Set<String> extraOutputs, Map<String, ? extends OnnxValue> pinned)
            throws OrtException {
        if (extraOutputs.isEmpty() && pinned.isEmpty()) {
            return (plain != null ? plain : session).run(feeds, outputs);
        }
        Set<String> all = new LinkedHashSet<>(outputs);
        all.addAll(extraOutputs);
        return pinned.isEmpty() ? session.run(feeds, all) : session.run(feeds, all, pinned);
    }

    /** Runs the model for {@code outputs} plus {@code extraOutputs}. The caller closes the result. */
    public OrtSession.Result run(Map<String, ? extends OnnxTensorLike> feeds, Set<String> outputs,
                                 Set<String> extraOutputs) throws OrtException {
        return run(feeds, outputs, extraOutputs, Map.of());
    }

    /** Runs the model for all public outputs plus {@code extraOutputs}. The caller closes the result. */
    public OrtSession.Result run(Map<String, ? extends OnnxTensorLike> feeds, Set<String> extraOutputs)
            throws OrtException {
        return run(feeds, outputNames, extraOutputs);
    }

    @Override
    public void close() throws OrtException {
        try {
            session.close();
        } finally {
            if (plain != null) {
                plain.close();
            }
        }
    }
}
