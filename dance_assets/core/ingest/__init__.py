"""From raw videos to what the later stages read: probing a video's header and
sound, listing class folders into `videos` rows (and watching them for new files),
extracting frames with their quality features and poses, posing a whole video densely
for scoring (with its pixel motion frame by frame), and turning poses into normalised
features. It reads only the lake.
"""
