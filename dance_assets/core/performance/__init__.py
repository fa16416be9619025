"""A dancer's performance: one video read once into its poses, movement and beats.

Between the ingest (which checks and samples videos for the classifiers) and scoring
(which compares a dancer with her teacher), a performance is what every later view of
one video shares: the music asset, the choreography, `score`, its report and the studio.
"""
