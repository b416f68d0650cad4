package io.ssmspark.model.config;

/**
 * The number of parameters of a config, counted from its sizes alone: nothing is allocated and no per-tensor list
 * is built, so an absurd config (d_model 10^9, a million layers) is counted at once. It counts exactly the tensors of
 * {@link io.ssmspark.model.checkpoint.CheckpointSchema#of} (a test holds the two equal), in long arithmetic that
 * stops at {@link Long#MAX_VALUE} instead of overflowing.
 */
public final class ModelSize {
    private ModelSize() {
    }

    /** Parameters of the model, at most {@link Long#MAX_VALUE}. */
    public static long parameters(MambaConfig c) {
        long d = c.dModel();
        long vocab = c.paddedVocabSize();
        long norm = c.rmsNorm() ? d : 2 * d; // LayerNorm also has a bias
        long attentionLayers = c.attnLayerIdx().size();
        long mambaLayers = c.nLayer() - attentionLayers;
        long total = mul(vocab, d); // embedding
        total = add(total, mul(c.nLayer(), add(norm, mlp(c, d, norm))));
        total = add(total, mul(mambaLayers, c.ssm().retNet() != null ? retNet(c, d)
                : c.ssm().s4d() != null ? s4d(c, d) : mamba2(c, d)));
        if (attentionLayers > 0) {
            total = add(total, mul(attentionLayers, attention(c, d)));
        }
        total = add(total, norm); // norm_f
        return c.tieEmbeddings() ? total : add(total, mul(vocab, d));
    }

    /** One Mamba2 mixer: in_proj, conv1d weight and bias, dt_bias, A_log, D, the gated norm, out_proj. */
    private static long mamba2(MambaConfig c, long d) {
        SsmConfig ssm = c.ssm();
        long inner = (long) ssm.expand() * d;
        long heads = inner / ssm.headdim();
        long bc = 2L * ssm.ngroups() * ssm.dState();
        long conv = inner + bc;
        long inProj = 2 * inner + bc + heads;
        long n = mul(inProj, d);
        n = add(n, mul(conv, ssm.dConv() + 1L)); // weight (conv, 1, d_conv) and bias
        n = add(n, 2 * heads); // dt_bias, A_log
        n = add(n, ssm.dHasHdim() ? inner : heads);
        if (ssm.rmsnorm()) {
            n = add(n, inner);
        }
        return add(n, mul(d, inner));
    }

    /** One RetNet mixer: q_proj, k_proj (d × d), v_proj and the optional g_proj (d_v·H × d), out_proj (d × d_v·H). */
    private static long retNet(MambaConfig c, long d) {
        RetNetConfig r = c.ssm().retNet();
        long values = mul(r.valueDim(c.dModel()), r.numHeads());
        long n = mul(2 * d, d);
        n = add(n, mul(r.gate() ? 2 * values : values, d));
        return add(n, mul(d, values));
    }

    /**
     * One S4D mixer: D and log_dt (d_model each), log_A_real (d_model × modes), A_imag (the same, complex modes
     * only), C (d_model × modes, × 2 for complex modes), output_linear weight (2·d_model × d_model) and bias.
     */
    private static long s4d(MambaConfig c, long d) {
        S4dConfig s = c.ssm().s4d();
        long modes = s.modes(c.ssm().dState());
        long perMode = s.complex() ? 4 : 2; // log_A_real, A_imag, C re/im; or log_A_real, C
        return add(add(4 * d, mul(d, modes * perMode)), mul(2 * d, d)); // D, log_dt, bias (2d); modes; weight
    }

    /** One MHA mixer: in_proj (q, k, v) with its optional bias, out_proj with its optional bias. */
    private static long attention(MambaConfig c, long d) {
        long headDim = c.attnHeadDim();
        long qkv = mul(headDim, c.attnNumHeads() + 2L * c.attnNumHeadsKv());
        long n = mul(qkv, d);
        if (c.attn().qkvProjBias()) {
            n = add(n, qkv);
        }
        n = add(n, mul(d, mul(headDim, c.attnNumHeads())));
        return c.attn().outProjBias() ? add(n, d) : n;
    }

    /** norm2, fc1 (2 · hidden × d) and fc2 (d × hidden) of a layer's GatedMLP; 0 without one. */
    private static long mlp(MambaConfig c, long d, long norm) {
        if (!c.hasMlp()) {
            return 0;
        }
        long hidden = (c.dIntermediate() + MambaConfig.MLP_MULTIPLE_OF - 1L) / MambaConfig.MLP_MULTIPLE_OF
                * MambaConfig.MLP_MULTIPLE_OF;
        return add(norm, mul(3 * hidden, d));
    }

    private static long mul(long a, long b) {
        long p = a * b;
        long high = Math.multiplyHigh(a, b);
        return high != 0 || p < 0 ? Long.MAX_VALUE : p; // a, b >= 0
    }

    private static long add(long a, long b) {
        long s = a + b;
        return s < 0 ? Long.MAX_VALUE : s; // a, b >= 0
    }
}
