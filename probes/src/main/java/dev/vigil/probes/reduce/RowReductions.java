package dev.vigil.probes.reduce;

import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import dev.vigil.probes.stats.ProbeSettings;
import dev.vigil.probes.stats.ReducedOutputs;

import java.util.ArrayList;
import java.util.List;

/**
 * The reductions of one row-site tensor ({@code mlp}, {@code residual}, {@code matmul_input}) appended to a graph,
 * as {@link ReducedOutputs} lays them out: the tensor is viewed as {@code [B, R, W]} and masked rows are replaced
 * (by 0, or ±inf for the extrema) before every reduction.
 */
final class RowReductions {
    private static final float LOW = 0x1p-32f;
    private static final float HIGH = 0x1p32f;

    private final GraphWriter g;
    private final String tensor;
    private final String x3;
    private final String width;
    /** R, the rows per sequence (1-element int64). */
    private final String rows;
    /** {@code [B,R,1]} bool: the row is real. */
    private final String rowMask;
    /** The tensor with masked rows set to 0. */
    private final String zeroed;
    private String abs;

    RowReductions(GraphWriter g, RequestMask mask, String tensor) {
        this.g = g;
        this.tensor = tensor;
        String shape = g.op("Shape", tensor);
        g.output(shape, ReducedOutputs.name(tensor, ReducedOutputs.SHAPE), DataType.INT64);
        width = g.slice(shape, -1, Long.MAX_VALUE, 0);
        x3 = g.op("Reshape", tensor, concat(mask.batch, g.longs(-1), width));
        rows = g.slice(g.op("Shape", x3), 1, 2, 0);
        rowMask = g.op("Reshape", mask.axis(rows), concat(mask.batch, rows, g.longs(1)));
        zeroed = g.op("Where", rowMask, x3, g.scalar(0f));
    }

    /** Extrema, moments, raw power sums and the {@code |x|} histogram. */
    void quant() {
        g.output(g.reduce("ReduceMin", g.op("Where", rowMask, x3, g.scalar(Float.POSITIVE_INFINITY)), false, 0, 1),
                name(ReducedOutputs.CHANNEL_MIN), DataType.FLOAT);
        g.output(g.reduce("ReduceMax", g.op("Where", rowMask, x3, g.scalar(Float.NEGATIVE_INFINITY)), false, 0, 1),
                name(ReducedOutputs.CHANNEL_MAX), DataType.FLOAT);
        String realRows = g.reduce("ReduceSum", g.cast(rowMask, DataType.FLOAT), false);
        String n = g.op("Mul", realRows, g.cast(width, DataType.FLOAT));
        String shift = g.op("Div", g.reduce("ReduceSum", zeroed, false), g.op("Max", n, g.scalar(1f)));
        String e = g.op("Where", rowMask, g.op("Sub", x3, shift), g.scalar(0f));
        String e2 = g.op("Mul", e, e);
        String finite = g.op("Equal", g.op("Sub", zeroed, zeroed), g.scalar(0f));
        String clean = g.op("Where", finite, zeroed, g.scalar(0f));
        String p = g.op("Relu", clean);
        String q = g.op("Relu", g.op("Neg", clean));
        String x2 = g.op("Mul", clean, clean);
        List<String> moments = new ArrayList<>();
        moments.add(g.op("Reshape", g.cast(shift, DataType.DOUBLE), g.longs(1)));
        for (String s : List.of(
                total("ReduceSum", e),
                total("ReduceSum", e2),
                total("ReduceSum", g.op("Mul", e2, e)),
                total("ReduceSumSquare", e2),
                total("ReduceSum", p),
                total("ReduceSum", q),
                total("ReduceSum", x2),
                total("ReduceSum", g.op("Mul", g.op("Mul", p, p), p)),
                total("ReduceSum", g.op("Mul", g.op("Mul", q, q), q)),
                total("ReduceSumSquare", x2),
                total("ReduceSum", g.cast(g.op("Not", finite), DataType.FLOAT)))) {
            moments.add(g.op("Reshape", s, g.longs(1)));
        }
        g.output(g.op("Concat", moments, GraphWriter.attr("axis", 0)), name(ReducedOutputs.MOMENTS), DataType.DOUBLE);
        histogram(g.op("Abs", clean), g.op("And", rowMask, finite));
    }

    /**
     * Counts per bucket of exponent and top 7 mantissa bits, the buckets of the host's histogram. The exponent from
     * {@code floor(log2 a)} may be one off next to a power of two; dividing by {@code 2^e} (exact) and moving e by one
     * when the quotient leaves {@code [1, 2)} makes it exact.
     */
    private void histogram(String a, String counted) {
        String clamped = g.op("Min", g.op("Max", a, g.scalar(LOW)), g.scalar(Math.nextDown(HIGH)));
        String e = g.op("Floor", g.op("Mul", g.op("Log", clamped), g.scalar((float) (1.0 / Math.log(2)))));
        String m = g.op("Div", clamped, g.op("Pow", g.scalar(2f), e));
        String below = g.op("Less", m, g.scalar(1f));
        m = g.op("Where", below, g.op("Mul", m, g.scalar(2f)), m);
        e = g.op("Where", below, g.op("Sub", e, g.scalar(1f)), e);
        String above = g.op("GreaterOrEqual", m, g.scalar(2f));
        m = g.op("Where", above, g.op("Mul", m, g.scalar(0.5f)), m);
        e = g.op("Where", above, g.op("Add", e, g.scalar(1f)), e);
        String slice = g.op("Floor", g.op("Mul", g.op("Sub", m, g.scalar(1f)), g.scalar(ReducedOutputs.SUB_BUCKETS)));
        String local = g.op("Add", g.op("Mul", g.op("Sub", e, g.scalar(ReducedOutputs.MIN_EXPONENT)),
                g.scalar(ReducedOutputs.SUB_BUCKETS)), slice);
        String bucket = g.op("Where", g.op("Less", a, g.scalar(LOW)), g.scalar(ReducedOutputs.UNDERFLOW),
                g.op("Where", g.op("GreaterOrEqual", a, g.scalar(HIGH)), g.scalar(ReducedOutputs.OVERFLOW), local));
        // Counted in double, exact to 2^53: CUDA's ScatterElements picks its arithmetic by element size, so int64
        // counts would be added as doubles (and int32 ones as floats).
        String indices = g.op("Reshape", g.cast(bucket, DataType.INT64), g.longs(-1));
        String updates = g.op("Reshape", g.cast(counted, DataType.DOUBLE), g.longs(-1));
        String zeros = g.op("ConstantOfShape", List.of(g.longs(ReducedOutputs.HISTOGRAM_BUCKETS)),
                GraphWriter.value(DataType.DOUBLE, 0));
        String counts = g.op("ScatterElements", List.of(zeros, indices, updates), GraphWriter.attr("axis", 0),
                GraphWriter.attr("reduction", "add"));
        g.output(g.cast(counts, DataType.INT32), name(ReducedOutputs.HISTOGRAM), DataType.INT32);
    }

    /** Per channel Σ|a| ({@code mlp}; the max is the quant's channel max). */
    void dead() {
        String perSequence = g.cast(g.reduce("ReduceSum", abs(), false, 1), DataType.DOUBLE);
        g.output(g.reduce("ReduceSum", perSequence, false, 0), name(ReducedOutputs.ABS_SUM), DataType.DOUBLE);
    }

    /**
     * {@code op} (ReduceSum or ReduceSumSquare) over every element: in float along the rows of each sequence and
     * channel (as many terms as the sequence has rows, like the host's float blocks), then in double.
     */
    private String total(String op, String x) {
        return g.reduce("ReduceSum", g.cast(g.reduce(op, x, false, 1), DataType.DOUBLE), false);
    }

    /**
     * Per sequence max {@code |h|} and the two middle values of its sorted {@code |h|}: TopK of the larger half (masked
     * rows as −1 sort last), then the elements at the middle ranks of each sequence's own count; per channel the
     * massive elements and the first row holding one.
     */
    void massive(ProbeSettings settings, RequestMask mask) {
        String a = abs();
        String max = g.reduce("ReduceMax", a, false, 1, 2);
        String flat = g.op("Reshape", g.op("Where", rowMask, a, g.scalar(-1f)), concat(mask.batch, g.longs(-1)));
        // int64 reductions only over row counts: CUDA reduces int64 in float, exact below 2^24
        String realRows = g.reduce("ReduceSum", g.cast(rowMask, DataType.INT64), false, 1, 2);
        String n = g.op("Mul", realRows, width);
        String one = g.longs(1);
        String two = g.longs(2);
        String k = g.op("Add", g.op("Div", g.op("Mul", g.reduce("ReduceMax", realRows, true, 0), width), two), one);
        String top = g.ops("TopK", 2, List.of(flat, k), GraphWriter.attr("axis", 1), GraphWriter.attr("largest", 1),
                GraphWriter.attr("sorted", 1))[0];
        String last = g.op("Sub", n, one);
        String lower = g.op("Sub", last, g.op("Div", last, two));
        String upper = g.op("Sub", last, g.op("Div", n, two));
        String ranks = g.op("Max", g.op("Concat", List.of(column(lower), column(upper)), GraphWriter.attr("axis", 1)),
                g.longs(0));
        String middle = g.op("GatherElements", List.of(top, ranks), GraphWriter.attr("axis", 1));
        g.output(g.op("Concat", List.of(column(max), middle), GraphWriter.attr("axis", 1)),
                name(ReducedOutputs.MASSIVE), DataType.FLOAT);
        String median = g.reduce("ReduceMean", middle, true, 1);
        String limit = g.op("Max", g.scalar((float) settings.massiveAbsThreshold()),
                g.op("Mul", g.scalar((float) settings.massiveMedianRatio()), median));
        String massive = g.op("Greater", a, g.op("Reshape", limit, g.longs(-1, 1, 1)));
        g.output(g.reduce("ReduceSum", g.cast(massive, DataType.FLOAT), false, 1), name(ReducedOutputs.HITS),
                DataType.FLOAT);
        String rowIndex = g.op("Reshape", g.cast(g.range(rows), DataType.FLOAT), g.longs(1, -1, 1));
        g.output(g.cast(g.firstIndex(massive, rowIndex, 1, false), DataType.INT32), name(ReducedOutputs.FIRST_HIT),
                DataType.INT32);
    }

    /** Per sequence: rows of nonzero norm, {@code Σ‖u_i‖²}, {@code ‖Σu_i‖²} of the unit rows {@code u_i}. */
    void cosine() {
        String norm2 = g.reduce("ReduceSumSquare", zeroed, true, 2);
        String nonzero = g.op("Greater", norm2, g.scalar(0f));
        String inv = g.op("Where", nonzero, g.op("Reciprocal", g.op("Sqrt", norm2)), g.scalar(0f));
        String sum = g.reduce("ReduceSum", g.op("Mul", zeroed, inv), false, 1);
        String rows = g.reduce("ReduceSum", g.cast(nonzero, DataType.FLOAT), false, 1, 2);
        String unit = g.reduce("ReduceSum", g.op("Mul", norm2, g.op("Mul", inv, inv)), false, 1, 2);
        String total = g.reduce("ReduceSumSquare", sum, false, 1);
        g.output(g.op("Concat", List.of(column(rows), column(unit), column(total)), GraphWriter.attr("axis", 1)),
                name(ReducedOutputs.COSINE), DataType.FLOAT);
    }

    private String abs() {
        if (abs == null) {
            abs = g.op("Abs", zeroed);
        }
        return abs;
    }

    private String column(String v) {
        return g.op("Reshape", v, g.longs(-1, 1));
    }

    private String concat(String... parts) {
        return g.op("Concat", List.of(parts), GraphWriter.attr("axis", 0));
    }

    private String name(String what) {
        return ReducedOutputs.name(tensor, what);
    }
}
