def image_shape(path):
    return None
