"""FakeData: random images, reproducible per index."""
import jtorch as torch

from .vision import VisionDataset


class FakeData(VisionDataset):
    """``size`` random PIL images of ``image_size`` (C, H, W) with random int targets. Item ``i``
    is drawn from a generator seeded with ``i + random_offset``, so it is the same every time."""

    def __init__(self, size=1000, image_size=(3, 224, 224), num_classes=10, transform=None, target_transform=None,
                 random_offset=0):
        super().__init__(transform=transform, target_transform=target_transform)
        self.size = size
        self.num_classes = num_classes
        self.image_size = image_size
        self.random_offset = random_offset

    def __getitem__(self, index):
        if index >= len(self):
            raise IndexError(f"{self.__class__.__name__} index out of range")
        g = torch.Generator().manual_seed(int(index) + self.random_offset)
        img = torch.randn(*self.image_size, generator=g)
        target = int(torch.randint(0, self.num_classes, size=(1,), dtype=torch.long, generator=g)[0])
        from jtorch.vision import transforms
        return self._apply_transforms(transforms.ToPILImage()(img), target)

    def __len__(self):
        return self.size
