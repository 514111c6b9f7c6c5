package dev.vigil.exporter;

/**
 * One sequence length of the inference throughput benchmark: the standard (attention) and the EFT
 * model measured in the same run, interleaved round by round.
 *
 * @param seqLen         tokens per sequence
 * @param batch          sequences per ONNX Runtime call
 * @param standardParams parameters of the pre-norm attention model
 * @param eftParams      parameters of the EFT model
 * @param standardMs     median over rounds of the standard model's milliseconds per batch
 * @param eftMs          median over rounds of the EFT model's milliseconds per batch
 * @param eftSpeedup     median over rounds of (standard ms / EFT ms) within the round: EFT seq/s over standard seq/s
 * @param rounds         interleaved rounds measured
 */
public record ThroughputRow(int seqLen, int batch, long standardParams, long eftParams, double standardMs,
                            double eftMs, double eftSpeedup, int rounds) {

    /** Sequences per second of the standard model (from its median ms/batch). */
    public double standardSequencesPerSecond() {
        return batch * 1000.0 / standardMs;
    }

    /** Sequences per second of the EFT model (from its median ms/batch). */
    public double eftSequencesPerSecond() {
        return batch * 1000.0 / eftMs;
    }
}
