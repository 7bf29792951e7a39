"""The job runtime: processes for processing, training and transform jobs, images, substitutes."""
