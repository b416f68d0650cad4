package io.ssmspark.model.tensor;

import java.util.function.Supplier;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.memory.conf.WorkspaceConfiguration;
import org.nd4j.linalg.api.memory.enums.AllocationPolicy;
import org.nd4j.linalg.api.memory.enums.LearningPolicy;
import org.nd4j.linalg.api.memory.enums.ResetPolicy;
import org.nd4j.linalg.api.memory.enums.SpillPolicy;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A scope whose ND4J arrays are freed when it closes, not when Java's GC happens to collect them.
 *
 * <p>An INDArray's native buffer is freed only after its small Java object is collected. A long computation
 * (a segment of 64K tokens through a Mamba2 layer makes hundreds of MB of intermediates) leaves far more native
 * memory behind than heap, so GC, driven by heap pressure, runs too rarely and the process's resident memory
 * grows with the total work done, not with the work in flight. Inside a scratch scope every array is allocated
 * in an ND4J workspace of this thread that has no block of its own (every allocation is a separate "spilled"
 * one, as large as asked for) and that is destroyed when the scope closes, freeing all of them at once.
 *
 * <p>Two kinds of scope. {@link #open()} makes a one-off scope for work whose size varies (a segment, a row):
 * its arrays are freed when it closes. {@link #openStep()} and {@link #openLayer()} make scopes over a block this
 * thread keeps and reuses: the first scope sizes it, later ones of the same kind start again at its beginning, so
 * a repeated computation of the same shape (a training step, one block's backward) touches no fresh pages. That
 * matters as much as freeing: the bench model's training step wrote to about 2.4 GB of fresh pages per step
 * before, with more time in page faults than in the math.
 *
 * <p>Rules: nothing allocated inside may be touched after {@link #close()}. Return plain Java arrays, or copy an
 * array that must outlive the scope with {@link #keep}. Arrays that live long (model parameters, buffers reused
 * across calls) must be made outside any scope: wrap their creation in {@link #outside}. Scopes nest; an inner
 * scope frees only its own arrays and may read the outer ones. A scope belongs to the thread that opened it.
 */
public final class Scratch implements AutoCloseable {
    private static final WorkspaceConfiguration CONFIG = WorkspaceConfiguration.builder()
            .initialSize(0)
            .policyLearning(LearningPolicy.NONE) // never grow a block of its own: each allocation spills
            .policySpill(SpillPolicy.EXTERNAL)
            .policyAllocation(AllocationPolicy.STRICT)
            .policyReset(ResetPolicy.BLOCK_LEFT)
            .build();
    /** Reused blocks: the first scope measures, later scopes reuse that size (a larger one grows the block). */
    private static final WorkspaceConfiguration REUSED = WorkspaceConfiguration.builder()
            .initialSize(0)
            .policyLearning(LearningPolicy.FIRST_LOOP)
            .policyAllocation(AllocationPolicy.OVERALLOCATE)
            .overallocationLimit(0.05)
            .policySpill(SpillPolicy.REALLOCATE)
            .policyReset(ResetPolicy.BLOCK_LEFT)
            .build();

    private static final String STEP_ID = "ssm-step";
    private static final String LAYER_ID = "ssm-layer";
    private static final ThreadLocal<int[]> DEPTH = ThreadLocal.withInitial(() -> new int[1]);

    private final MemoryWorkspace workspace;
    private final int depth;
    private final Thread owner;
    private boolean closed;

    private Scratch(int depth) {
        this.depth = depth;
        this.owner = Thread.currentThread();
        this.workspace = Nd4j.getWorkspaceManager().getAndActivateWorkspace(CONFIG, id(depth));
    }

    /** A scope over this thread's reused block {@code id} (depth 0: outside the one-off scopes' nesting). */
    private Scratch(String id) {
        this.depth = 0;
        this.owner = Thread.currentThread();
        this.workspace = Nd4j.getWorkspaceManager().getAndActivateWorkspace(REUSED, id);
    }

    /**
     * Opens a scope over this thread's reused step block, for one step of repeated work of about the same size: a
     * training step's forward and backward (or one micro-batch), one scoring segment's layer. Its arrays are
     * overwritten by the next step's, so the gradient accumulators and anything kept are made before it. Opened
     * while this thread's step block is already open, it is a one-off scope ({@link #open()}) instead.
     */
    public static Scratch openStep() {
        if (Nd4j.getWorkspaceManager().checkIfWorkspaceExistsAndActive(STEP_ID)) {
            return open();
        }
        return new Scratch(STEP_ID);
    }

    /** Runs {@code work} in a step scope ({@link #openStep()}); its result must not hold arrays made inside. */
    public static <T> T callStep(Supplier<T> work) {
        try (Scratch ignored = openStep()) {
            return work.get();
        }
    }

    /**
     * Opens a scope over this thread's reused layer block, for the temporaries of one block's backward: a model's
     * backward reuses it from block to block, so the step's block holds the forward's activations and not every
     * block's backward temporaries too. Results go into arrays made before the scope (in place).
     */
    public static Scratch openLayer() {
        return new Scratch(LAYER_ID);
    }

    /** Opens a scope on this thread: ND4J arrays made until {@link #close()} are freed by it. */
    public static Scratch open() {
        int[] d = DEPTH.get();
        Scratch s = new Scratch(d[0] + 1);
        d[0]++;
        return s;
    }

    /** Runs {@code work} in a scope; its result must not hold arrays made inside (see the class comment). */
    public static <T> T call(Supplier<T> work) {
        try (Scratch ignored = open()) {
            return work.get();
        }
    }

    /** Runs {@code make} outside any workspace: for arrays that outlive the scopes it may be called from. */
    public static <T> T outside(Supplier<T> make) {
        try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            return make.get();
        }
    }

    /**
     * A copy of {@code a} (same shape, order and dtype) allocated outside any workspace, owned by the caller: it
     * survives the scope and is freed by GC or by its {@code close()}. Null stays null.
     */
    public static INDArray keep(INDArray a) {
        return a == null ? null : outside(() -> a.dup(a.ordering()));
    }

    /** Bytes allocated in this scope so far (not counting inner scopes). */
    public long bytesAllocated() {
        return workspace.getThisCycleAllocations();
    }

    /** Frees every array made in this scope. Scopes must close in the reverse order of opening. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        if (Thread.currentThread() != owner) {
            throw new IllegalStateException("scratch scope opened by thread " + owner.getName()
                    + " cannot be closed by " + Thread.currentThread().getName());
        }
        if (depth == 0) {
            closed = true;
            workspace.close(); // a reused block: kept for this thread's next scope of its kind
            return;
        }
        int[] d = DEPTH.get();
        if (d[0] != depth) {
            throw new IllegalStateException("scratch scopes must close innermost first: closing depth " + depth
                    + " while depth " + d[0] + " is open");
        }
        closed = true;
        d[0]--;
        workspace.close();
        Nd4j.getWorkspaceManager().destroyWorkspace(workspace);
    }

    private static String id(int depth) {
        return "ssm-scratch-" + depth;
    }
}
