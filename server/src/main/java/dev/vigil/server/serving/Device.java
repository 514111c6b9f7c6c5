package dev.vigil.server.serving;

/**
 * Where models run, as {@code --device} names it: {@code cpu}, {@code cuda} or {@code cuda:<id>}, or
 * {@link #auto()} (CUDA when its execution provider loads, else CPU).
 *
 * @param cuda     whether CUDA is asked for (or tried, when {@code explicit} is false)
 * @param cudaId   the CUDA device ordinal
 * @param explicit whether the user named the device (an automatic choice may fall back silently to CPU)
 */
public record Device(boolean cuda, int cudaId, boolean explicit) {

    /** The default: try CUDA device 0, else CPU. */
    public static Device auto() {
        return new Device(true, 0, false);
    }

    /** Parses {@code cpu}, {@code cuda}, {@code cuda:N}; null or blank means {@link #auto()}. */
    public static Device parse(String text) {
        if (text == null || text.isBlank()) {
            return auto();
        }
        String t = text.trim();
        if (t.equals("cpu")) {
            return new Device(false, 0, true);
        }
        if (t.equals("cuda")) {
            return new Device(true, 0, true);
        }
        if (t.startsWith("cuda:")) {
            try {
                int id = Integer.parseInt(t.substring(5));
                if (id >= 0) {
                    return new Device(true, id, true);
                }
            } catch (NumberFormatException ignored) {
                // falls through to the error below
            }
        }
        throw new IllegalArgumentException("device must be cpu, cuda or cuda:<id>, not '" + text + "'");
    }

    @Override
    public String toString() {
        return cuda ? "cuda:" + cudaId : "cpu";
    }
}
