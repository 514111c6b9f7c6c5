package dev.vigil.probes;

/** The kinds of probe site of SPEC §3; {@link #label()} is the Prometheus {@code kind} label. */
public enum SiteKind {
    /** Softmax output whose result is the left operand of a MatMul: {@code [B,H,Tq,Tk]} or {@code [B*H,Tq,Tk]}. */
    ATTENTION("attention"),
    /** Output of an MLP activation function that reaches a MatMul/Gemm: {@code [B,T,F]}. */
    MLP("mlp"),
    /** Input of a normalization (the residual stream): {@code [B,T,D]}. */
    RESIDUAL("residual"),
    /** Non-constant input of a MatMul/Gemm whose other input is an initializer: {@code [...,K]}. */
    MATMUL_INPUT("matmul_input");

    private final String label;

    SiteKind(String label) {
        this.label = label;
    }

    /** The SPEC label value, e.g. {@code matmul_input}. */
    public String label() {
        return label;
    }

    /** Parses a SPEC label ({@code attention}, {@code mlp}, ...); throws IllegalArgumentException on anything else. */
    public static SiteKind fromLabel(String label) {
        for (SiteKind k : values()) {
            if (k.label.equals(label)) {
                return k;
            }
        }
        throw new IllegalArgumentException("unknown probe site kind '" + label + "'");
    }
}
