"""gan-oversampling: when does oversampling the minority class with a conditional GAN help?"""

__version__ = "0.1.0"
