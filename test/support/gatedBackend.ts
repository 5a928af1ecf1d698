// The mocked backend with a gate: while held, work waits until the test releases it, so a test can
// look at an operation in flight (or race writes against it) as long as it likes, with no timing involved.
import type { ClusterRef, CommandOutput } from "../../src/engine/backend.js";
import { MockBackend } from "../../src/engine/backends/mock.js";

/** The ClusterBackend port methods that do work (what an operation waits for). */
export const WORK_METHODS = [
  "applyCluster",
  "applyAgentPool",
  "deleteAgentPool",
  "deleteCluster",
  "stopCluster",
  "startCluster",
  "rotateCertificates",
  "rotateServiceAccountSigningKeys",
  "runCommand",
] as const;
export type WorkMethod = (typeof WORK_METHODS)[number];

export interface GatedBackendOptions {
  /** The methods the gate holds; the others finish at once even while held. Default: every work method. */
  gated?: readonly WorkMethod[];
  /** Whether the gate is held from the start (until release()). Default: false, work finishes at once. */
  held?: boolean;
  /** MockBackend's delay, once work is through the gate. Default 0. */
  delayMs?: number;
}

export class GatedBackend extends MockBackend {
  private readonly gated: ReadonlySet<WorkMethod>;
  private holding: boolean;
  private readonly waiting: Array<() => void> = [];
  /** How many calls each work method has had (held or not). */
  readonly started: Record<WorkMethod, number> = Object.fromEntries(WORK_METHODS.map((method) => [method, 0])) as Record<WorkMethod, number>;

  /** Work may be held at the gate: operations end when it passes, never inside the request. */
  override get instant(): boolean {
    return false;
  }

  constructor(options: GatedBackendOptions = {}) {
    super(options.delayMs ?? 0);
    this.gated = new Set(options.gated ?? WORK_METHODS);
    this.holding = options.held ?? false;
  }

  /** From now on, gated work waits. */
  hold(): void {
    this.holding = true;
  }
  /** Stops holding, and lets every piece of work waiting so far finish. */
  release(): void {
    this.holding = false;
    this.releaseAll();
  }
  /** Lets every piece of work waiting so far finish; the gate stays as it was (held: later work waits). */
  releaseAll(): void {
    for (const resume of this.waiting.splice(0)) resume();
  }
  /** How many pieces of work are waiting at the gate. */
  get pending(): number {
    return this.waiting.length;
  }

  /** Counts the call; resolves at once unless the gate is held and `method` is gated. */
  private gate(method: WorkMethod): Promise<void> {
    this.started[method]++;
    return this.holding && this.gated.has(method) ? new Promise((resolve) => this.waiting.push(resolve)) : Promise.resolve();
  }

  override applyCluster(): Promise<void> {
    return this.gate("applyCluster").then(() => super.applyCluster());
  }
  override applyAgentPool(): Promise<void> {
    return this.gate("applyAgentPool").then(() => super.applyAgentPool());
  }
  override deleteAgentPool(): Promise<void> {
    return this.gate("deleteAgentPool").then(() => super.deleteAgentPool());
  }
  override deleteCluster(): Promise<void> {
    return this.gate("deleteCluster").then(() => super.deleteCluster());
  }
  override stopCluster(): Promise<void> {
    return this.gate("stopCluster").then(() => super.stopCluster());
  }
  override startCluster(): Promise<void> {
    return this.gate("startCluster").then(() => super.startCluster());
  }
  override rotateCertificates(): Promise<void> {
    return this.gate("rotateCertificates").then(() => super.rotateCertificates());
  }
  override rotateServiceAccountSigningKeys(): Promise<void> {
    return this.gate("rotateServiceAccountSigningKeys").then(() => super.rotateServiceAccountSigningKeys());
  }
  override runCommand(cluster: ClusterRef, command: string): Promise<CommandOutput> {
    return this.gate("runCommand").then(() => super.runCommand(cluster, command));
  }
}
