package dev.vigil.server.protocol;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;

import java.util.regex.Pattern;

/**
 * Turns the JSON library's parse errors into messages for clients: where (line, column) and what was expected,
 * without the library's internals (class, feature and method names, its placeholder for the input source).
 */
public final class JsonErrorMessage {
    // "[Source: REDACTED (`StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION` disabled); line: 1, column: 9]"
    private static final Pattern SOURCE = Pattern.compile("\\[Source: .*?; line: (\\d+)(, column: (\\d+))?]");
    // ": enable `JsonReadFeature.X` to allow" and ", from `StreamReadConstraints.getX()`"
    private static final Pattern FEATURE_HINT = Pattern.compile("[:;,]? ?(enable `[^`]*` to allow|from `[^`]*`)");
    private static final Pattern FEATURE_NOTE = Pattern.compile(" ?\\([^()]*Feature '[A-Z_]+'[^()]*\\)");
    private static final Pattern QUOTED_CODE = Pattern.compile("`[^`]*`");

    private JsonErrorMessage() {
    }

    /**
     * The client message for a parse error.
     *
     * @param where the parser's position, used when the error carries none (the library's limit errors do not)
     */
    public static String of(JsonProcessingException e, JsonLocation where) {
        JsonLocation at = e.getLocation() != null ? e.getLocation() : where;
        String what = clean(e.getOriginalMessage());
        String prefix = e instanceof StreamConstraintsException ? "request JSON is over a limit" : "malformed JSON";
        if (at == null || at.getLineNr() < 0) {
            return prefix + ": " + what;
        }
        return prefix + " at line " + at.getLineNr() + ", column " + at.getColumnNr() + ": " + what;
    }

    static String clean(String message) {
        if (message == null || message.isBlank()) {
            return "unreadable JSON";
        }
        String m = SOURCE.matcher(message).replaceAll(r -> r.group(2) == null ? "line " + r.group(1)
                : "line " + r.group(1) + ", column " + r.group(3));
        m = FEATURE_HINT.matcher(m).replaceAll("");
        m = FEATURE_NOTE.matcher(m).replaceAll("");
        m = QUOTED_CODE.matcher(m).replaceAll("");
        return m.strip();
    }
}
