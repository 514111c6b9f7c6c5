package dev.vigil.server.protocol;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.json.JsonReadFeature;

/**
 * The limits every inference request's JSON is read under, checked by the parser as it reads (a request over one is
 * refused with 400 before the rest is read). Set explicitly rather than left to the JSON library's defaults so that
 * they are documented and stay put across library upgrades. The body size limit bounds the document as a whole.
 */
public final class JsonLimits {
    /** Nested arrays and objects: a request, its inputs and a tensor's nested data need far fewer. */
    public static final int MAX_NESTING_DEPTH = 64;
    /** Characters of one number: a double's shortest form takes at most 24. */
    public static final int MAX_NUMBER_LENGTH = 100;
    /** Characters of one string value (a BYTES element, a name, an id). */
    public static final int MAX_STRING_LENGTH = 1 << 20;
    /** Characters of one object key. */
    public static final int MAX_NAME_LENGTH = 1024;

    private static final StreamReadConstraints CONSTRAINTS = StreamReadConstraints.builder()
            .maxNestingDepth(MAX_NESTING_DEPTH)
            .maxNumberLength(MAX_NUMBER_LENGTH)
            .maxStringLength(MAX_STRING_LENGTH)
            .maxNameLength(MAX_NAME_LENGTH)
            .build();

    private JsonLimits() {
    }

    /**
     * A JSON factory reading under these limits. NaN and Infinity tokens are read (so that a non-finite input gets
     * its own message rather than a syntax error) and refused afterwards by the request parser.
     */
    public static JsonFactory factory() {
        return JsonFactory.builder()
                .streamReadConstraints(CONSTRAINTS)
                .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
                .enable(StreamReadFeature.USE_FAST_DOUBLE_PARSER)
                .build();
    }
}
