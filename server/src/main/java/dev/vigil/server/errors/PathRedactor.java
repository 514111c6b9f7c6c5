package dev.vigil.server.errors;

import java.nio.file.Path;
import java.util.regex.Pattern;

/**
 * Removes the server's filesystem paths from text sent to clients (a model's load failure, an internal error):
 * a path inside the model repository becomes relative to it, any other absolute path is cut to its file name.
 * Log lines keep the full paths.
 */
public final class PathRedactor {
    // an absolute Unix path: "/" then at least one segment, not preceded by a word character, "." or ":" (URLs)
    private static final String SEGMENT = "[^\\s/'\"`:;,()\\[\\]]+";
    private static final Pattern ABSOLUTE = Pattern.compile("(?<![\\w.:/])/(?:" + SEGMENT + "/)*(" + SEGMENT + ")");

    private final String[] repositoryPrefixes;

    /** @param repository the model repository, whose paths are shown relative to it */
    public PathRedactor(Path repository) {
        Path absolute = repository.toAbsolutePath().normalize();
        String real = absolute.toString();
        try {
            real = repository.toRealPath().toString();
        } catch (java.io.IOException e) {
            // not there (yet): the absolute form is all there is to remove
        }
        repositoryPrefixes = new String[]{real + "/", absolute + "/", repository + "/"};
    }

    /** The text with paths in the repository made relative and any other absolute path cut to its file name. */
    public String redact(String text) {
        if (text == null) {
            return null;
        }
        String t = text;
        for (String prefix : repositoryPrefixes) {
            if (prefix.length() > 1) {
                t = t.replace(prefix, "");
            }
        }
        return ABSOLUTE.matcher(t).replaceAll("$1");
    }
}
