import type { FerryContext } from './ferry-context-types.ts';
import { registerMetadataJobs } from './metadata/metadata-jobs.ts';
import { registerDataValueJobs } from './data-values/data-value-jobs.ts';
import { registerGeometryJobs } from './geometry/geometry-jobs.ts';
import { registerTrackerJobs } from './tracker/tracker-jobs.ts';
import { registerTrackerExportJobs } from './tracker/tracker-export-jobs.ts';
import { registerLegacyTrackerJobs } from './tracker/legacy-tracker-jobs.ts';
import { registerDemoJobs } from './demo/demo-jobs.ts';
import { registerAnalysisJobs } from './analysis/analysis-jobs.ts';
import { registerDedupeJobs } from './dedupe/dedupe-jobs.ts';
import { registerWizardJobs } from './wizard/wizard-jobs.ts';
import { registerRcloneDestination } from './jobs/destinations/rclone-destination.ts';

/**
 * The job types of every capability. Each capability registers its own import handlers and export
 * producers from its folder; this list is the one place that names them all, and it imports the
 * capabilities, never the other way round (they take the context's type from ferry-context-types.ts).
 */
const CAPABILITY_JOB_REGISTRATIONS: readonly ((context: FerryContext) => void)[] = [
  registerMetadataJobs,
  registerDataValueJobs,
  registerGeometryJobs,
  registerTrackerJobs,
  registerTrackerExportJobs,
  registerLegacyTrackerJobs,
  registerDemoJobs,
  registerAnalysisJobs,
  registerDedupeJobs,
  registerWizardJobs,
  // Not a job type: the export queue's cloud destination (rclone remotes).
  registerRcloneDestination,
];

export function registerCapabilityJobs(context: FerryContext): void {
  for (const register of CAPABILITY_JOB_REGISTRATIONS) register(context);
}
