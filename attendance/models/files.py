"""The stored files of photos and templates: removed with their rows, so no photo of a
child outlives its database row."""
from django.db.models.signals import post_delete
from django.dispatch import receiver

from attendance.models.registers import ClassPhoto
from attendance.models.roster import EnrolmentPhoto, LearntTemplate
from attendance.renditions import delete_renditions


def delete_stored_files(rows) -> None:
    """Remove the photo files of rows whose transaction rolled back, so no photo of a
    child is left on disk without its database row. (Such rows never got renditions: the
    worker makes those after the upload committed.)"""
    for row in rows:
        if row.image:
            row.image.storage.delete(row.image.name)


@receiver(post_delete, sender=LearntTemplate)
def _delete_template_crop(sender, instance, **kwargs):
    # Runs for cascades too (deleting a student), so no crop outlives its template.
    if instance.crop:
        instance.crop.storage.delete(instance.crop.name)


@receiver(post_delete, sender=EnrolmentPhoto)
@receiver(post_delete, sender=ClassPhoto)
def _delete_photo_file(sender, instance, **kwargs):
    # Runs for cascades too (deleting a student or a class), so no photo of a child
    # outlives its database row.
    if instance.image:
        instance.image.storage.delete(instance.image.name)
        delete_renditions(instance.image.storage, instance.image.name)
