/**
 * Owns: talking to object stores ({@code ObjectStorage}: S3 through the AWS SDK v2, a local
 * directory) and the object file format (data blocks, index, footer).
 * Does not own: which data goes into which object or when (core.upload), metadata (core).
 */
package dev.strata.objectstore;
