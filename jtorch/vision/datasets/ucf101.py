"""UCF101: action-recognition clips from ``root/<class>/<video>.avi``, split by the official
``{train,test}list0<fold>.txt`` files (lines "<class>/<video>.avi[ <label>]")."""
import os

from .folder import find_classes, make_dataset
from .video_utils import VideoClips
from .vision import VisionDataset


class UCF101(VisionDataset):
    """Every ``frames_per_clip``-frame clip (``step_between_clips`` apart) of the videos of one
    fold's train or test list; items are (video, audio, class index)."""

    def __init__(self, root, annotation_path, frames_per_clip, step_between_clips=1, frame_rate=None, fold=1,
                 train=True, transform=None, _precomputed_metadata=None, num_workers=1, _video_width=0,
                 _video_height=0, _video_min_dimension=0, _audio_samples=0, output_format="THWC"):
        super().__init__(root)
        if not 1 <= fold <= 3:
            raise ValueError(f"fold should be between 1 and 3, got {fold}")
        self.fold = fold
        self.train = train
        self.classes, class_to_idx = find_classes(self.root)
        self.samples = make_dataset(self.root, class_to_idx, ("avi",), is_valid_file=None)
        video_list = [path for path, _ in self.samples]
        self.full_video_clips = VideoClips(
            video_list, frames_per_clip, step_between_clips, frame_rate, _precomputed_metadata,
            num_workers=num_workers, _video_width=_video_width, _video_height=_video_height,
            _video_min_dimension=_video_min_dimension, _audio_samples=_audio_samples, output_format=output_format)
        self.indices = self._select_fold(video_list, annotation_path, fold, train)
        self.video_clips = self.full_video_clips.subset(self.indices)
        self.transform = transform

    @property
    def metadata(self):
        return self.full_video_clips.metadata

    def _select_fold(self, video_list, annotation_path, fold, train):
        """Indices of the videos listed in ``<train|test>list0<fold>.txt``."""
        list_file = os.path.join(annotation_path, f"{'train' if train else 'test'}list{fold:02d}.txt")
        with open(list_file) as f:
            names = [line.strip().split(" ")[0] for line in f]
        selected = {os.path.join(self.root, *name.split("/")) for name in names}
        return [i for i, path in enumerate(video_list) if path in selected]

    def __len__(self):
        return self.video_clips.num_clips()

    def __getitem__(self, idx):
        video, audio, _, video_idx = self.video_clips.get_clip(idx)
        label = self.samples[self.indices[video_idx]][1]
        if self.transform is not None:
            video = self.transform(video)
        return video, audio, label
