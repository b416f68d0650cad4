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
