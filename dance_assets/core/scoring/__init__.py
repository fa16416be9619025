"""Judging one dancer: her video posed densely and compared with her
teacher's (movement, pair alignment, coaching and music), or with a reference built
from the training performances; the classifier's verdict; the HTML report; and the
skeleton pictures. The last stage: it may use every other, and none uses it.
"""
