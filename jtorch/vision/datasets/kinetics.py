"""Kinetics-400/600/700: action-recognition clips from ``root/<split>/<class>/<video>``; with
``download=True`` the official archives are fetched and sorted into that layout."""
import csv
import multiprocessing
import os
import urllib.parse
from functools import partial

from .folder import find_classes, make_dataset
from .utils import check_integrity, download_and_extract_archive, download_url, verify_str_arg
from .video_utils import VideoClips
from .vision import VisionDataset


def _dl_wrap(tarpath, videopath, line):
    download_and_extract_archive(line, tarpath, videopath)


class Kinetics(VisionDataset):
    """Every ``frames_per_clip``-frame clip (``step_between_clips`` apart) of the videos of one
    split; items are (video, audio, class index), video in ``output_format`` (default TCHW).
    ``_legacy=True`` reads ``root/<class>/<video>`` directly (THWC, no download)."""

    _TAR_URLS = {
        "400": "https://s3.amazonaws.com/kinetics/400/{split}/k400_{split}_path.txt",
        "600": "https://s3.amazonaws.com/kinetics/600/{split}/k600_{split}_path.txt",
        "700": "https://s3.amazonaws.com/kinetics/700_2020/{split}/k700_2020_{split}_path.txt",
    }
    _ANNOTATION_URLS = {
        "400": "https://s3.amazonaws.com/kinetics/400/annotations/{split}.csv",
        "600": "https://s3.amazonaws.com/kinetics/600/annotations/{split}.csv",
        "700": "https://s3.amazonaws.com/kinetics/700_2020/annotations/{split}.csv",
    }

    def __init__(self, root, frames_per_clip, num_classes="400", split="train", frame_rate=None,
                 step_between_clips=1, transform=None, extensions=("avi", "mp4"), download=False,
                 num_download_workers=1, num_workers=1, _precomputed_metadata=None, _video_width=0,
                 _video_height=0, _video_min_dimension=0, _audio_samples=0, _audio_channels=0, _legacy=False,
                 output_format="TCHW"):
        self.num_classes = verify_str_arg(num_classes, arg="num_classes", valid_values=["400", "600", "700"])
        self.extensions = extensions
        self.num_download_workers = num_download_workers
        self.root = root
        self._legacy = _legacy
        if _legacy:
            self.split_folder = root
            self.split = "unknown"
            output_format = "THWC"
            if download:
                raise ValueError("Cannot download the videos using legacy_structure.")
        else:
            self.split_folder = os.path.join(root, split)
            self.split = verify_str_arg(split, arg="split", valid_values=["train", "val", "test"])
        if download:
            self.download_and_process_videos()
        super().__init__(self.root)
        self.classes, class_to_idx = find_classes(self.split_folder)
        self.samples = make_dataset(self.split_folder, class_to_idx, extensions, is_valid_file=None)
        self.video_clips = VideoClips(
            [path for path, _ in self.samples], frames_per_clip, step_between_clips, frame_rate,
            _precomputed_metadata, num_workers=num_workers, _video_width=_video_width,
            _video_height=_video_height, _video_min_dimension=_video_min_dimension, _audio_samples=_audio_samples,
            _audio_channels=_audio_channels, output_format=output_format)
        self.transform = transform

    def download_and_process_videos(self):
        """Download the split's video archives into ``root`` and sort the videos into class folders."""
        self._download_videos()
        self._make_ds_structure()

    def _download_videos(self):
        """Fetch the split's list of archive URLs into ``root/files``, then each archive into
        ``root/tars``, extracted into the split folder. Nothing is done if that folder exists."""
        if os.path.exists(self.split_folder):
            return
        tar_path = os.path.join(self.root, "tars")
        file_list_path = os.path.join(self.root, "files")
        split_url = self._TAR_URLS[self.num_classes].format(split=self.split)
        split_url_filepath = os.path.join(file_list_path, os.path.basename(split_url))
        if not check_integrity(split_url_filepath):
            download_url(split_url, file_list_path)
        with open(split_url_filepath) as f:
            urls = [urllib.parse.quote(line, safe="/,:") for line in f.read().splitlines()]
        if self.num_download_workers == 1:
            for url in urls:
                download_and_extract_archive(url, tar_path, self.split_folder)
        else:
            # spawned, not forked: a forked child would inherit JAX's threads
            with multiprocessing.get_context("spawn").Pool(self.num_download_workers) as pool:
                pool.map(partial(_dl_wrap, tar_path, self.split_folder), urls)

    def _make_ds_structure(self):
        """Move ``<split>/<ytid>_<start>_<end>.mp4`` into ``<split>/<label>/`` following the
        split's annotation CSV (downloaded into ``root/annotations``)."""
        annotation_path = os.path.join(self.root, "annotations")
        annotations = os.path.join(annotation_path, f"{self.split}.csv")
        if not check_integrity(annotations):
            download_url(self._ANNOTATION_URLS[self.num_classes].format(split=self.split), annotation_path)
        with open(annotations) as f:
            for row in csv.DictReader(f):
                name = f"{row['youtube_id']}_{int(row['time_start']):06}_{int(row['time_end']):06}.mp4"
                label = row["label"].replace(" ", "_").replace("'", "").replace("(", "").replace(")", "")
                os.makedirs(os.path.join(self.split_folder, label), exist_ok=True)
                downloaded = os.path.join(self.split_folder, name)
                if os.path.isfile(downloaded):
                    os.replace(downloaded, os.path.join(self.split_folder, label, name))

    @property
    def metadata(self):
        return self.video_clips.metadata

    def __len__(self):
        return self.video_clips.num_clips()

    def __getitem__(self, idx):
        video, audio, _, video_idx = self.video_clips.get_clip(idx)
        label = self.samples[video_idx][1]
        if self.transform is not None:
            video = self.transform(video)
        return video, audio, label
