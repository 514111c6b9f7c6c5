package dev.vigil.tests.quant;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * Distinct, varied English sentences made from a seed: questions, statements, instructions, lists, numbers, code and
 * quotes across several domains, from 3 to about 70 words, so that calibration and evaluation sets built from two
 * seeds look like different slices of the same traffic.
 */
final class VariedSentences {
    private static final String[] SUBJECTS = {"the server", "our team", "a small model", "the new policy",
            "my grandmother", "the city council", "this recipe", "the telescope", "a quiet neighbour", "the market",
            "the patient", "an old bridge", "the orchestra", "every student", "the database", "the weather",
            "the river", "a startup in Berlin", "the referee", "the committee", "your invoice", "the algorithm"};
    private static final String[] VERBS = {"reduced", "explained", "delayed", "announced", "measured", "ignored",
            "improved", "cancelled", "predicted", "doubled", "questioned", "repaired", "described", "approved",
            "translated", "scheduled", "rejected", "celebrated", "compressed", "visited"};
    private static final String[] OBJECTS = {"the latency of every request", "the price of fresh bread",
            "a long list of complaints", "the annual budget", "three new bus lines", "the results of the experiment",
            "its memory footprint", "the final chapter", "the opening ceremony", "the side effects",
            "an unusual signal from a distant galaxy", "the morning train to Lyon", "the error rate",
            "the quarterly report", "a bug in the parser", "the garden behind the school", "forty-two emails",
            "the recipe for lemon cake", "the contract terms", "the cloud bill"};
    private static final String[] TAILS = {"after the storm", "without telling anyone", "for the second time",
            "in less than an hour", "despite the protests", "because nobody else would", "on Tuesday morning",
            "with surprising accuracy", "before the deadline", "at 3 a.m.", "during the holidays",
            "using only a spreadsheet", "while the cameras were rolling", "in the middle of the night"};
    private static final String[] QUESTIONS = {"How do I", "Why does", "Can you tell me whether", "What happens if",
            "Is it true that", "When will", "Who decided that"};
    private static final String[] INSTRUCTIONS = {"Please summarize", "Translate into French:", "Write a haiku about",
            "List three reasons for", "Explain to a child", "Find the cheapest flight for", "Compare"};
    private static final String[] SNIPPETS = {"for (int i = 0; i < n; i++) sum += x[i];",
            "SELECT name, price FROM items WHERE price > 10 ORDER BY price;", "git rebase main && mvn verify",
            "curl -s localhost:8080/metrics | grep vigil_", "def f(x): return x * x + 1",
            "{\"name\": \"vigil\", \"ready\": true}"};
    private static final String[] WORDS = {"apple", "quantum", "harbor", "violin", "ledger", "pixel", "glacier",
            "sonnet", "torque", "lantern", "protocol", "saffron", "meadow", "circuit", "parliament", "mosaic",
            "enzyme", "compass", "thunder", "velvet", "archive", "gradient", "kernel", "orchard"};

    private VariedSentences() {
    }

    /** {@code count} distinct sentences from {@code seed}. */
    static List<String> make(long seed, int count) {
        Random rnd = new Random(seed);
        Set<String> out = new LinkedHashSet<>();
        while (out.size() < count) {
            out.add(one(rnd));
        }
        return new ArrayList<>(out);
    }

    private static String one(Random r) {
        return switch (r.nextInt(8)) {
            case 0 -> cap(statement(r)) + ".";
            case 1 -> pick(r, QUESTIONS) + " " + statement(r) + "?";
            case 2 -> pick(r, INSTRUCTIONS) + " " + pick(r, OBJECTS) + ".";
            case 3 -> cap(statement(r)) + ", and " + statement(r) + "; " + statement(r) + ".";
            case 4 -> "Order #" + (1000 + r.nextInt(9000)) + ": " + (1 + r.nextInt(12)) + " x " + pick(r, WORDS)
                    + " at $" + r.nextInt(500) + "." + (10 + r.nextInt(90)) + ", shipped to " + pick(r, WORDS) + " "
                    + "street " + r.nextInt(200) + ".";
            case 5 -> "Run `" + pick(r, SNIPPETS) + "` and check " + pick(r, OBJECTS) + ".";
            case 6 -> {
                StringBuilder b = new StringBuilder(cap(pick(r, WORDS)));
                int n = 2 + r.nextInt(5);
                for (int i = 0; i < n; i++) {
                    b.append(", ").append(pick(r, WORDS));
                }
                yield b.append(".").toString();
            }
            default -> {
                StringBuilder b = new StringBuilder("\"" + cap(statement(r)) + ",\" she said.");
                int n = 1 + r.nextInt(4);
                for (int i = 0; i < n; i++) {
                    b.append(' ').append(cap(statement(r))).append('.');
                }
                yield b.toString();
            }
        };
    }

    private static String statement(Random r) {
        String s = pick(r, SUBJECTS) + " " + pick(r, VERBS) + " " + pick(r, OBJECTS);
        return r.nextBoolean() ? s + " " + pick(r, TAILS) : s;
    }

    private static String pick(Random r, String[] words) {
        return words[r.nextInt(words.length)];
    }

    private static String cap(String s) {
        return Character.toUpperCase(s.charAt(0)) + s.substring(1);
    }
}
