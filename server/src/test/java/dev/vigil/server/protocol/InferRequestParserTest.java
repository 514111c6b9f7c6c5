package dev.vigil.server.protocol;

import dev.vigil.server.errors.ApiException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The request parser's answers to malformed and over-limit JSON: 400s that name the problem in plain words. */
class InferRequestParserTest {
    private final InferRequestParser parser = new InferRequestParser();

    private ApiException refused(String json) {
        ApiException e = assertThrows(ApiException.class,
                () -> parser.parse(json.getBytes(StandardCharsets.UTF_8), -1));
        assertEquals(400, e.status(), e.getMessage());
        assertNoInternals(e.getMessage());
        return e;
    }

    /** What a client must never see: the JSON library's class, feature or method names and its source placeholder. */
    static void assertNoInternals(String message) {
        for (String leak : new String[]{"`", "Source:", "REDACTED", "jackson", "StreamReadConstraints",
                "JsonReadFeature", "StreamReadFeature", "Exception", "com.fasterxml"}) {
            assertFalse(message.toLowerCase().contains(leak.toLowerCase()), "'" + leak + "' in: " + message);
        }
    }

    private static String input(String data) {
        return "{\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":" + data + "}]}";
    }

    @Test
    void nestingDeeperThanTheLimitIsNamedWithItsPosition() {
        int depth = JsonLimits.MAX_NESTING_DEPTH + 1;
        String json = "{\"parameters\":" + "{\"a\":".repeat(depth) + "1" + "}".repeat(depth) + "}";
        String m = refused(json).getMessage();
        assertTrue(m.contains("nesting depth (" + depth + ")") && m.contains("(" + JsonLimits.MAX_NESTING_DEPTH
                + ")") && m.contains("line 1, column"), m);
        // nested data arrays count too, and a thousand levels (the library default's edge) are no different
        assertTrue(refused(input("[".repeat(1001) + "1" + "]".repeat(1001))).getMessage().contains("nesting depth"));
        // at the limit it is read
        String ok = "{\"parameters\":" + "{\"a\":".repeat(JsonLimits.MAX_NESTING_DEPTH - 1) + "1"
                + "}".repeat(JsonLimits.MAX_NESTING_DEPTH - 1) + "," + input("[1.5]").substring(1);
        assertEquals(1, parser.parse(ok.getBytes(StandardCharsets.UTF_8), -1).inputs().size());
    }

    @Test
    void overLongNumbersStringsAndKeysAreNamed() {
        String digits = "1".repeat(JsonLimits.MAX_NUMBER_LENGTH + 1);
        assertTrue(refused(input("[" + digits + "]")).getMessage().contains("Number value length ("
                + digits.length() + ")"), "integer");
        assertTrue(refused(input("[0." + digits + "]")).getMessage().contains("Number value length"), "fraction");
        String longString = "s".repeat(JsonLimits.MAX_STRING_LENGTH + 1);
        assertTrue(refused("{\"id\":\"" + longString + "\"," + input("[1]").substring(1)).getMessage()
                .contains("String value length (" + longString.length() + ")"));
        String longKey = "k".repeat(JsonLimits.MAX_NAME_LENGTH + 1);
        assertTrue(refused("{\"parameters\":{\"" + longKey + "\":1}," + input("[1]").substring(1)).getMessage()
                .contains("Name length (" + longKey.length() + ")"));
        // 1000 digits: far over the limit, where the library's default limit used to end in a 500
        assertTrue(refused(input("[" + "9".repeat(1001) + "]")).getMessage().contains("over a limit"));
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "{\"inputs\":[{\"name\":\"x\"",
            "{\"inputs\":[{\"name\":\"x\",}]}",
            "{\"inputs\":[{name:\"x\"}]}",
            "{\"inputs\":[{\"name\":'x'}]}",
            "{\"inputs\":[{\"name\":\"x\" \"shape\":[1]}]}",
            "{\"inputs\":[{\"name\":\"x\",\"shape\":[01]}]}",
            "{\"inputs\":[{\"name\":\"x\",\"shape\":[+1]}]}",
            "{\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[1]}]}]",
            "{\"inputs\":[{\"name\":\"x\u0001\"}]}",
            "{\"inputs\":[{\"name\":\"\\q\"}]}",
            "{\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[1]}]} // comment",
            "{\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[1]}]} {}",
            "{\"inputs\": tru}",
            "{\"id\": \"a\" \"inputs\": []}",
            "{\"inputs\": /* x */ []}",
            "",
            "   ",
            "{",
            "{\"a\":\"\\uZZZZ\"}",
    })
    void malformedJsonSaysWhereAndWhatWithoutInternals(String json) {
        String m = refused(json).getMessage();
        if (!json.isBlank()) {
            assertTrue(m.matches("(?s)malformed JSON at line \\d+, column \\d+: .+"), m);
        }
    }

    @Test
    void truncationNamesTheUnclosedStructureAndWhereItOpened() {
        String m = refused("{\"inputs\":[{\"name\":\"x\",\"shape\":[1]").getMessage();
        assertTrue(m.contains("end-of-input") && m.contains("line 1, column"), m);
    }

    @Test
    void invalidUtf8IsA400() {
        byte[] body = "{\"id\":\"..\"}".getBytes(StandardCharsets.UTF_8);
        body[7] = (byte) 0xff;
        ApiException e = assertThrows(ApiException.class, () -> parser.parse(body, -1));
        assertEquals(400, e.status());
        assertNoInternals(e.getMessage());
    }
}
