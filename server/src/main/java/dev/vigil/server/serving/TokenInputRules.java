package dev.vigil.server.serving;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import dev.vigil.server.errors.ApiException;
import dev.vigil.server.protocol.InputTensor;

import java.nio.ByteBuffer;import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * What a model's graph says about its token inputs, read once at load: the vocabulary size of every integer input
 * that indexes an embedding table (a Gather on axis 0 whose data is a constant: the table's first dimension), which
 * input axes are token axes (the sequence axis of token inputs and every axis the graph names alike), and which
 * axes must agree in size across inputs (the same symbolic dimension name, e.g. {@code sequence_length} on
 * input_ids, attention_mask and token_type_ids).
 *
 * @param vocabulary rows of the embedding table each token-id input indexes (the smallest when several)
 * @param tokenAxes  input axes limited by max_sequence_length (dynamic in the graph)
 * @param agreeing   groups of input axes that must have equal sizes, by the name the graph gives them
 */
public record TokenInputRules(Map<String, Long> vocabulary, Set<Axis> tokenAxes, Map<String, List<Axis>> agreeing) {
    /** A model whose graph says nothing about its inputs. */
    public static final TokenInputRules NONE = new TokenInputRules(Map.of(), Set.of(), Map.of());

    /** Operators that pass integer values through unchanged (so ids still index the table after them). */
    private static final Set<String> VALUE_PRESERVING = Set.of("Cast", "Identity", "Reshape", "Unsqueeze",
            "Squeeze", "Flatten");
    /** Operators between a stored table and its Gather (a quantized or down-cast table). */
    private static final Set<String> TABLE_PASS_THROUGH = Set.of("Cast", "Identity", "DequantizeLinear");
    private static final Set<Integer> INTEGER_TYPES = Set.of(TensorProto.DataType.INT64_VALUE,
            TensorProto.DataType.INT32_VALUE, TensorProto.DataType.INT16_VALUE, TensorProto.DataType.INT8_VALUE,
            TensorProto.DataType.UINT8_VALUE, TensorProto.DataType.UINT16_VALUE,
            TensorProto.DataType.UINT32_VALUE, TensorProto.DataType.UINT64_VALUE);

    /** One axis of one input. */
    public record Axis(String input, int axis) {
    }

    public TokenInputRules {
        // insertion (graph input) order kept, so that an error names the first offending input
        vocabulary = Collections.unmodifiableMap(new LinkedHashMap<>(vocabulary));
        tokenAxes = Collections.unmodifiableSet(new LinkedHashSet<>(tokenAxes));
        agreeing = Collections.unmodifiableMap(new LinkedHashMap<>(agreeing));
    }

    /**
     * Reads the rules from a model's graph.
     *
     * @param extraTokenInputs inputs known to be token inputs by other means (a tokenizer's mapping)
     */
    public static TokenInputRules read(ModelProto model, Set<String> extraTokenInputs) {
        GraphProto g = model.getGraph();
        Map<String, TensorProto> initializers = new HashMap<>();
        for (TensorProto t : g.getInitializerList()) {
            initializers.put(t.getName(), t);
        }
        Map<String, NodeProto> producers = new HashMap<>();
        Map<String, List<NodeProto>> consumers = new HashMap<>();
        for (NodeProto n : g.getNodeList()) {
            for (String out : n.getOutputList()) {
                producers.put(out, n);
            }
            for (String in : n.getInputList()) {
                consumers.computeIfAbsent(in, k -> new ArrayList<>()).add(n);
            }
        }
        List<ValueInfoProto> inputs = new ArrayList<>();
        for (ValueInfoProto v : g.getInputList()) {
            if (!initializers.containsKey(v.getName())) {
                inputs.add(v);
            }
        }
        Map<String, Long> vocabulary = new LinkedHashMap<>();
        for (ValueInfoProto v : inputs) {
            if (INTEGER_TYPES.contains(v.getType().getTensorType().getElemType())) {
                long rows = embeddingRows(v.getName(), initializers, producers, consumers);
                if (rows > 0) {
                    vocabulary.put(v.getName(), rows);
                }
            }
        }
        Set<String> tokenInputs = new LinkedHashSet<>(vocabulary.keySet());
        tokenInputs.addAll(extraTokenInputs);
        for (ValueInfoProto v : inputs) {
            // an attention mask indexes nothing, so it is known by name (as tokenizers and exporters call it)
            if (INTEGER_TYPES.contains(v.getType().getTensorType().getElemType())
                    && v.getName().toLowerCase(Locale.ROOT).contains("mask")) {
                tokenInputs.add(v.getName());
            }
        }
        // Some exports name every dynamic axis after the batch (MiniLM's input_ids: [batch, batch]): a batch axis's
        // name on a later axis says nothing, and such an axis counts as unnamed.
        Set<String> batchNames = new HashSet<>();
        for (ValueInfoProto v : inputs) {
            List<TensorShapeProto.Dimension> dims = v.getType().getTensorType().getShape().getDimList();
            if (!dims.isEmpty() && dims.get(0).hasDimParam()) {
                batchNames.add(dims.get(0).getDimParam());
            }
        }
        Map<String, List<Axis>> named = new LinkedHashMap<>();
        Set<Axis> tokenAxes = new LinkedHashSet<>();
        Set<String> tokenDimNames = new HashSet<>();
        List<Axis> anonymousBatch = new ArrayList<>();
        List<Axis> anonymousTokens = new ArrayList<>();
        for (ValueInfoProto v : inputs) {
            List<TensorShapeProto.Dimension> dims = v.getType().getTensorType().getShape().getDimList();
            boolean token = tokenInputs.contains(v.getName()) && dims.size() >= 2;
            for (int a = 0; a < dims.size(); a++) {
                TensorShapeProto.Dimension d = dims.get(a);
                Axis axis = new Axis(v.getName(), a);
                boolean hasName = d.hasDimParam() && !d.getDimParam().isEmpty()
                        && !(a > 0 && batchNames.contains(d.getDimParam()));
                if (hasName) {
                    named.computeIfAbsent(d.getDimParam(), k -> new ArrayList<>()).add(axis);
                    if (token && a == 1) {
                        tokenDimNames.add(d.getDimParam());
                    }
                } else if (token && !d.hasDimValue() && a == 0) {
                    anonymousBatch.add(axis);
                } else if (token && !d.hasDimValue() && a == 1) {
                    anonymousTokens.add(axis);
                    tokenAxes.add(axis);
                }
            }
        }
        named.forEach((name, axes) -> {
            if (tokenDimNames.contains(name)) {
                tokenAxes.addAll(axes);
            }
        });
        Map<String, List<Axis>> agreeing = new LinkedHashMap<>();
        named.forEach((name, axes) -> {
            if (axes.size() > 1) {
                agreeing.put(name, List.copyOf(axes));
            }
        });
        // token inputs whose graph leaves the axes unnamed still share batch and sequence axes
        if (anonymousBatch.size() > 1) {
            agreeing.put("batch", List.copyOf(anonymousBatch));
        }
        if (anonymousTokens.size() > 1) {
            agreeing.put("sequence", List.copyOf(anonymousTokens));
        }
        return new TokenInputRules(vocabulary, tokenAxes, agreeing);
    }

    /**
     * Checks a tensor request's inputs (names, datatypes and ranks already checked against the model), cheapest
     * first: token axes against the limit, agreeing axes, then every id against its vocabulary.
     *
     * @throws ApiException 400 naming the input, the axis or the id, and what is allowed
     */
    public void check(String model, List<InputTensor> inputs, int maxSequenceLength) {
        Map<String, InputTensor> byName = new HashMap<>();
        for (InputTensor in : inputs) {
            byName.put(in.name(), in);
        }
        for (Axis a : tokenAxes) {
            long size = size(byName, a);
            if (size > maxSequenceLength) {
                throw ApiException.badRequest("input '" + a.input() + "' has " + size + " tokens (axis " + a.axis()
                        + "), more than max_sequence_length " + maxSequenceLength + " of model '" + model + "'");
            }
        }
        for (Map.Entry<String, List<Axis>> group : agreeing.entrySet()) {
            Axis first = null;
            for (Axis a : group.getValue()) {
                long size = size(byName, a);
                if (size < 0) {
                    continue;
                }
                if (first == null) {
                    first = a;
                } else if (size != size(byName, first)) {
                    throw ApiException.badRequest("inputs '" + first.input() + "' (axis " + first.axis() + " of "
                            + size(byName, first) + ") and '" + a.input() + "' (axis " + a.axis() + " of " + size
                            + ") must have the same size: model '" + model + "' declares both as '" + group.getKey()
                            + "'");
                }
            }
        }
        for (Map.Entry<String, Long> v : vocabulary.entrySet()) {
            InputTensor in = byName.get(v.getKey());
            if (in != null && in.data() != null) {
                checkIds(model, in, v.getValue());
            }
        }
    }

    private static long size(Map<String, InputTensor> inputs, Axis a) {
        InputTensor in = inputs.get(a.input());
        return in == null || a.axis() >= in.shape().length ? -1 : in.shape()[a.axis()];
    }

    private static void checkIds(String model, InputTensor in, long vocabulary) {
        ByteBuffer data = in.data();
        int n = data.remaining() / Math.max(1, in.datatype().elementSize());
        for (int i = 0; i < n; i++) {
            long id = switch (in.datatype()) {
                case INT64 -> data.getLong(i << 3);
                case INT32 -> data.getInt(i << 2);
                case INT16 -> data.getShort(i << 1);
                case INT8 -> data.get(i);
                case UINT8 -> data.get(i) & 0xff;
                default -> 0;
            };
            if (id < 0 || id >= vocabulary) {
                throw ApiException.badRequest("input '" + in.name() + "' element " + i + " is token id " + id
                        + ", outside the vocabulary of model '" + model + "': valid ids are 0.." + (vocabulary - 1)
                        + " (its embedding table has " + vocabulary + " rows)");
            }
        }
    }

    /** The smallest first dimension of a constant table that {@code input}'s values index, or -1 when none. */
    private static long embeddingRows(String input, Map<String, TensorProto> initializers,
                                      Map<String, NodeProto> producers, Map<String, List<NodeProto>> consumers) {
        long rows = -1;
        Deque<String> values = new ArrayDeque<>(List.of(input));
        Set<String> seen = new HashSet<>();
        while (!values.isEmpty() && seen.size() < 64) {
            String value = values.pop();
            if (!seen.add(value)) {
                continue;
            }
            for (NodeProto n : consumers.getOrDefault(value, List.of())) {
                if (VALUE_PRESERVING.contains(n.getOpType()) && n.getInput(0).equals(value)) {
                    values.push(n.getOutput(0));
                } else if (n.getOpType().equals("Gather") && n.getInputCount() == 2 && n.getInput(1).equals(value)
                        && axis(n) == 0) {
                    long r = tableRows(n.getInput(0), initializers, producers);
                    if (r > 0) {
                        rows = rows < 0 ? r : Math.min(rows, r);
                    }
                }
            }
        }
        return rows;
    }

    private static long axis(NodeProto gather) {
        for (AttributeProto a : gather.getAttributeList()) {
            if (a.getName().equals("axis")) {
                return a.getI();
            }
        }
        return 0;
    }

    /** The first dimension of a constant tensor (initializer or Constant node, through Cast/Identity/DQ), or -1. */
    private static long tableRows(String tensor, Map<String, TensorProto> initializers,
                                  Map<String, NodeProto> producers) {
        for (int depth = 0; depth < 4; depth++) {
            TensorProto t = initializers.get(tensor);
            if (t == null) {
                NodeProto p = producers.get(tensor);
                if (p == null) {
                    return -1;
                }
                if (p.getOpType().equals("Constant")) {
                    for (AttributeProto a : p.getAttributeList()) {
                        if (a.getName().equals("value") && a.hasT()) {
                            t = a.getT();
                        }
                    }
                } else if (TABLE_PASS_THROUGH.contains(p.getOpType()) && p.getInputCount() > 0) {
                    tensor = p.getInput(0);
                    continue;
                }
            }
            return t != null && t.getDimsCount() >= 2 ? t.getDims(0) : -1;
        }
        return -1;
    }
}
