"""DCGAN and VAE style: ConvTranspose2d generator, BatchNorm2d, LeakyReLU, Tanh, weights_init via
model.apply, BCELoss with torch.full labels, two Adam optimizers with betas, fake.detach();
VAE with reparameterisation, binary_cross_entropy(reduction='sum') and the KL term."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

from tut_common import DEVICE, finish, np_params, record

nc, nz, ngf, ndf = 3, 8, 8, 8
batch = 4
real_label, fake_label = 1.0, 0.0
rng = np.random.RandomState(70)


def weights_init(m):
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        nn.init.normal_(m.weight.data, 0.0, 0.02)
    elif classname.find("BatchNorm") != -1:
        nn.init.normal_(m.weight.data, 1.0, 0.02)
        nn.init.constant_(m.bias.data, 0)


class Generator(nn.Module):
    def __init__(self, ngpu):
        super(Generator, self).__init__()
        self.ngpu = ngpu
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 4, 4, 1, 0, bias=False),
            nn.BatchNorm2d(ngf * 4),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, nc, 4, 2, 1, bias=False),
            nn.Tanh(),
        )

    def forward(self, input):
        return self.main(input)


class Discriminator(nn.Module):
    def __init__(self, ngpu):
        super(Discriminator, self).__init__()
        self.ngpu = ngpu
        self.main = nn.Sequential(
            nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 2),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 2, 1, 4, 1, 0, bias=False),
            nn.Sigmoid(),
        )

    def forward(self, input):
        return self.main(input)


device = torch.device(DEVICE)
netG = Generator(0).to(device)
netD = Discriminator(0).to(device)
# weights_init draws from the framework's RNG: check what it did statistically, then load numpy weights
netG.apply(weights_init)
w = netG.main[0].weight
record("init_conv_stats", (abs(w.mean().item()) < 0.005, abs(w.std().item() - 0.02) < 0.003))
record("init_bn_bias", netG.main[1].bias)
record("init_bn_weight_close", bool(((netG.main[1].weight - 1).abs() < 0.1).all()))
print(netG)
print(netD)
np_params(netG, 71, scale=0.2)
np_params(netD, 72, scale=0.2)

criterion = nn.BCELoss()
fixed_noise = torch.tensor(rng.randn(4, nz, 1, 1).astype(np.float32))
lr, beta1 = 0.0002, 0.5
optimizerD = optim.Adam(netD.parameters(), lr=lr * 10, betas=(beta1, 0.999))
optimizerG = optim.Adam(netG.parameters(), lr=lr * 10, betas=(beta1, 0.999))
real = torch.tensor(rng.uniform(-1, 1, (3, batch, nc, 16, 16)).astype(np.float32))
noises = torch.tensor(rng.randn(3, batch, nz, 1, 1).astype(np.float32))
G_losses, D_losses, Dx, DGz = [], [], [], []
for i in range(3):
    netD.zero_grad()
    real_cpu = real[i].to(device)
    b_size = real_cpu.size(0)
    label = torch.full((b_size,), real_label, dtype=torch.float, device=device)
    output = netD(real_cpu).view(-1)
    errD_real = criterion(output, label)
    errD_real.backward()
    D_x = output.mean().item()
    noise = noises[i].to(device)
    fake = netG(noise)
    label.fill_(fake_label)
    output = netD(fake.detach()).view(-1)
    errD_fake = criterion(output, label)
    errD_fake.backward()
    D_G_z1 = output.mean().item()
    errD = errD_real + errD_fake
    optimizerD.step()
    netG.zero_grad()
    label.fill_(real_label)
    output = netD(fake).view(-1)
    errG = criterion(output, label)
    errG.backward()
    D_G_z2 = output.mean().item()
    optimizerG.step()
    print("[%d/%d]\tLoss_D: %.4f\tLoss_G: %.4f\tD(x): %.4f\tD(G(z)): %.4f / %.4f"
          % (i, 3, errD.item(), errG.item(), D_x, D_G_z1, D_G_z2))
    G_losses.append(errG.item())
    D_losses.append(errD.item())
with torch.no_grad():
    fake = netG(fixed_noise.to(device)).detach().cpu()
record("G_losses", G_losses)
record("D_losses", D_losses)
record("fake", fake)
record("netG", netG.state_dict())
record("netD", netD.state_dict())
record("bn_tracked", netD.main[3].num_batches_tracked)
netG.eval()
record("eval_fake", netG(fixed_noise.to(device)))
record("adam_state", {k: v for k, v in optimizerG.state_dict()["state"][0].items()})
record("adam_param_groups", [{k: v for k, v in g.items()} for g in optimizerG.state_dict()["param_groups"]])


class VAE(nn.Module):
    def __init__(self):
        super(VAE, self).__init__()
        self.fc1 = nn.Linear(64, 32)
        self.fc21 = nn.Linear(32, 4)
        self.fc22 = nn.Linear(32, 4)
        self.fc3 = nn.Linear(4, 32)
        self.fc4 = nn.Linear(32, 64)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std)
        return mu + eps * std

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, 64))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


def loss_function(recon_x, x, mu, logvar):
    BCE = F.binary_cross_entropy(recon_x, x.view(-1, 64), reduction="sum")
    KLD = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return BCE + KLD


vae = np_params(VAE(), 73)
# randn_like draws from the framework's RNG: for the exact comparison the noise comes from numpy
eps_np = rng.randn(4, 8, 4).astype(np.float32)
step = [0]


def fixed_reparameterize(mu, logvar):
    std = torch.exp(0.5 * logvar)
    eps = torch.from_numpy(eps_np[step[0]])
    return mu + eps * std


x = torch.tensor(rng.rand(4, 8, 1, 8, 8).astype(np.float32))
optimizer = optim.Adam(vae.parameters(), lr=1e-3)
real_reparameterize = vae.reparameterize
vae.reparameterize = fixed_reparameterize
vae.train()
train_loss = 0
vae_losses = []
for batch_idx in range(4):
    step[0] = batch_idx
    data = x[batch_idx]
    optimizer.zero_grad()
    recon_batch, mu, logvar = vae(data)
    loss = loss_function(recon_batch, data, mu, logvar)
    loss.backward()
    train_loss += loss.item()
    optimizer.step()
    vae_losses.append(loss.item())
print("====> Average loss: {:.4f}".format(train_loss / 32))
record("vae_losses", vae_losses)
record("vae_state", vae.state_dict())
# the real reparameterisation: statistics of randn_like, shape and dtype
torch.manual_seed(1)
mu, logvar = torch.zeros(2000, 4), torch.full((2000, 4), 2 * np.log(3.0))
z = real_reparameterize(mu, logvar)
record("reparam_shape_dtype", (z.shape, z.dtype))
record("reparam_std_close", abs(z.std().item() - 3.0) < 0.1)
with torch.no_grad():
    sample = vae.decode(torch.tensor(rng.randn(5, 4).astype(np.float32))).cpu()
record("sample", sample.view(5, 1, 8, 8))
finish()
