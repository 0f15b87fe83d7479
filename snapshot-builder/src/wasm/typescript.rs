//! TypeScript types of the objects the bindings take and return, emitted
//! into the package's `.d.ts` next to the generated signatures (which name
//! them through `unchecked_param_type` / `unchecked_return_type`). The JSON
//! shapes are those of `vane_resolver` (results: OFREP; explanations:
//! `vane_resolver::explain`) and of this crate's `Diagnostic`.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** A rule dialect: Vane YAML or OpenFeature flagd JSON. */
export type Format = "vane" | "flagd";

/** Options of `compile`; all optional. */
export interface CompileOptions {
  /** Names the source in diagnostics; `.yaml`/`.yml` → Vane, `.json` → flagd when `format` is absent. Default "rules". */
  fileName?: string;
  format?: Format;
  /** Required for flagd sources (they name no tenant); must match a Vane file's `tenant:`. */
  tenant?: string;
  /** Snapshot version; default: `createdAt`. */
  version?: number;
  /** Creation time, Unix seconds; default: now. */
  createdAt?: number;
  /** Text of an access file: clients and CORS origins for a flagd source (`vane build --access`). */
  access?: string;
  /** Names the access file in diagnostics. Default "access.yaml". */
  accessFileName?: string;
  /** Every warning is an error, as `vane build --strict`. Default false. */
  strict?: boolean;
}

/** One problem in a rule source; `line`/`column` are 1-based. */
export interface Diagnostic {
  severity: "error" | "warning";
  file: string;
  line: number | null;
  column: number | null;
  flag: string | null;
  /** Path of the node inside the document, e.g. `flags.checkout.rules[0].serve`. */
  path: string;
  message: string;
}

/** What `compile` returns: with `ok`, the snapshot (and its bytes) and any warnings; without, every error. */
export type CompileOutput =
  | { ok: true; diagnostics: Diagnostic[]; bytes: Uint8Array; snapshot: Snapshot }
  | { ok: false; diagnostics: Diagnostic[] };

/** Snapshot facts: what `vane inspect` prints, in camelCase. */
export interface SnapshotInfo {
  tenant: string;
  version: number;
  /** sha256 of the body, 64 lowercase hex digits: the snapshot's identity. */
  digest: string;
  /** Build time, Unix seconds. */
  createdAt: number;
  /** Builder name and version, e.g. "vane-snapshot-builder 0.1.0". */
  builder: string;
  bucketingVersion: number;
  /** Size of the whole encoded snapshot, bytes. */
  byteSize: number;
  /** Ed25519 public key (64 lowercase hex digits) of a valid signature; null when unsigned. */
  signer: string | null;
}

/** An evaluation context: `targetingKey` (alias `targeting_key`) and any attributes. */
export type EvaluationContext = { targetingKey?: string; [attribute: string]: unknown };

export type Reason = "STATIC" | "TARGETING_MATCH" | "SPLIT" | "DEFAULT" | "DISABLED" | "ERROR";
export type ErrorCode =
  | "FLAG_NOT_FOUND" | "PARSE_ERROR" | "TYPE_MISMATCH"
  | "TARGETING_KEY_MISSING" | "INVALID_CONTEXT" | "GENERAL";
export type FlagMetadata = Record<string, string | number | boolean>;

/** OFREP `evaluationSuccess`: no `value` means the caller's code default applies. */
export interface EvaluationSuccess {
  key: string;
  value?: unknown;
  reason: Reason;
  variant?: string;
  metadata: FlagMetadata;
}
/** OFREP `evaluationFailure` / `flagNotFound`. */
export interface EvaluationFailure {
  key: string;
  errorCode: ErrorCode;
  errorDetails: string;
  metadata: FlagMetadata;
}
export type EvaluationResult = EvaluationSuccess | EvaluationFailure;
/** The OFREP bulk body. */
export interface BulkEvaluation {
  flags: EvaluationResult[];
  metadata?: Record<string, unknown>;
}

export type TargetingKind = "static" | "jsonLogic" | "invalid" | "rules";
export type RuleOutcome = "matched" | "conditionFalse" | "notYetActive" | "expired" | "notReached";
/** A context attribute read by a fixed path; no `value` when the context lacks it. */
export interface Read { path: string; value?: unknown }
/** Buckets `from <= bucket < to` serve `variant`. */
export interface Cut { variant: string; weight: number; from: number; to: number }
export interface SplitShape { bucketBy: string; salt: string; total: number; cuts: Cut[] }
export interface SplitPlacement {
  unit: string | null;
  /** MurmurHash3 x86 32 of `"{salt}|{unit}"`. */
  hash: number | null;
  bucket: number | null;
  /** Index into `cuts` of the variant served. */
  cut: number | null;
  /** All the weight on one variant: served without a unit, nothing hashed. */
  whole: boolean;
  error: string | null;
}
/** One set of `[start, end)` bucket ranges tested in a space, and the flags testing it. */
export interface BucketSlot { ranges: [number, number][]; flags: string[] }
/** A bucket-range test (layer, holdout) and where this context's unit fell. */
export interface BucketStep {
  space: string;
  scheme: "murmur3_x86_32" | "murmur3_x64_128";
  salt: string;
  unitBy: string;
  unit: string | null;
  count: number;
  ranges: [number, number][];
  bucket: number | null;
  holds: boolean;
  /** Every experiment (slot) of the space, in bucket order. */
  slots: BucketSlot[];
  /** Index into `slots` of the one holding the bucket. */
  fellInto: number | null;
}
export interface RuleStep {
  index: number;
  outcome: RuleOutcome;
  hasCondition: boolean;
  reads: Read[];
  activeFrom: number | null;
  activeUntil: number | null;
  serves: { variant: string } | { split: SplitShape } | { holdout: { name: string; variant: string | null } } | { fractional: SplitShape };
  placement: SplitPlacement | null;
  buckets: BucketStep[];
}
/** Why one evaluation came out as it did. */
export interface Explanation {
  flagKey: string;
  result: EvaluationResult;
  snapshot: SnapshotInfo;
  /** Evaluation time, Unix seconds. */
  now: number;
  /** Absent flag: null. */
  targeting: TargetingKind | null;
  disabled: boolean;
  /** Vane rules, in order. */
  rules: RuleStep[];
  /** What flagd JsonLogic targeting returned (null: the default variant). */
  targetingResult: unknown | null;
  /** Attributes flagd JsonLogic targeting reads. */
  reads: Read[];
}

/** A snapshot for people (`Snapshot.inspect`). */
export interface Inspection {
  info: SnapshotInfo;
  flags: {
    key: string;
    variants: { name: string; value: unknown }[];
    defaultVariant: string | null;
    disabled: boolean;
    targeting: TargetingKind;
    rules: number;
    metadata: FlagMetadata;
  }[];
  clients: { name: string; keys: number }[];
  /** Empty: any origin. */
  corsOrigins: string[];
  metadata: Record<string, unknown>;
}
"#;
