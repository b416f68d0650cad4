package io.ssmspark.jobs.bench;

import java.util.ArrayList;
import java.util.List;

/** A bench's {@code --pattern}: one letter per layer, M = Mamba2, A = attention. */
final class LayerPattern {
    private LayerPattern() {}

    /** The attention layers' indices (attn_layer_idx) of {@code pattern}; refuses other letters by position. */
    static List<Integer> attentionLayers(String pattern) {
        if (pattern == null || pattern.isEmpty()) {
            throw new IllegalArgumentException(
                    "--pattern: expected one letter per layer (M or A) but found an empty value");
        }
        List<Integer> attention = new ArrayList<>();
        for (int i = 0; i < pattern.length(); i++) {
            char c = pattern.charAt(i);
            if (c == 'A') {
                attention.add(i);
            } else if (c != 'M') {
                throw new IllegalArgumentException(
                        "--pattern: letter " + i + " is '" + c + "'; expected M (Mamba2) or A (attention)");
            }
        }
        return attention;
    }
}
